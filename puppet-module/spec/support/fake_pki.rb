# frozen_string_literal: true

require 'openssl'
require 'fileutils'

# A throwaway CA for the fake broker: its own certificate, a server certificate, a client
# certificate in a Puppet-style ssldir, and an empty CRL.
class FakePki
  Identity = Struct.new(:cert, :key)

  attr_reader :ca

  def initialize
    key = OpenSSL::PKey::RSA.new(2048)
    @ca = Identity.new(certificate('/CN=Fake Puppet CA', key.public_key, key, authority: true), key)
  end

  # A certificate and key signed by the CA; san for a server (e.g. 'IP:127.0.0.1').
  def issue(subject, san: nil)
    key = OpenSSL::PKey::RSA.new(2048)
    Identity.new(certificate(subject, key.public_key, @ca.key, san: san), key)
  end

  # An OpenSSL store trusting the CA.
  def store
    OpenSSL::X509::Store.new.tap { |s| s.add_cert(@ca.cert) }
  end

  # ssldir/certs/ca.pem, certs/<certname>.pem, private_keys/<certname>.pem, crl.pem, as Puppet lays them out.
  def write_ssldir(ssldir, certname)
    client = issue("/CN=#{certname}")
    FileUtils.mkdir_p([File.join(ssldir, 'certs'), File.join(ssldir, 'private_keys')])
    File.write(File.join(ssldir, 'certs', 'ca.pem'), @ca.cert.to_pem)
    File.write(File.join(ssldir, 'certs', "#{certname}.pem"), client.cert.to_pem)
    File.write(File.join(ssldir, 'private_keys', "#{certname}.pem"), client.key.to_pem)
    File.write(File.join(ssldir, 'crl.pem'), crl.to_pem)
  end

  private

  def certificate(subject, public_key, signer, authority: false, san: nil)
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = rand(1 << 60)
    cert.subject = OpenSSL::X509::Name.parse(subject)
    cert.issuer = authority ? cert.subject : @ca.cert.subject
    cert.public_key = public_key
    cert.not_before = Time.now - 60
    cert.not_after = Time.now + 3600
    extend_certificate(cert, authority: authority, san: san)
    cert.sign(signer, OpenSSL::Digest.new('SHA256'))
    cert
  end

  def extend_certificate(cert, authority:, san:)
    ef = OpenSSL::X509::ExtensionFactory.new
    ef.subject_certificate = cert
    ef.issuer_certificate = authority ? cert : @ca.cert
    cert.add_extension(ef.create_extension('basicConstraints', authority ? 'CA:TRUE' : 'CA:FALSE', true))
    cert.add_extension(ef.create_extension('keyUsage', authority ? 'keyCertSign,cRLSign' : 'digitalSignature,keyEncipherment', true))
    cert.add_extension(ef.create_extension('subjectKeyIdentifier', 'hash'))
    cert.add_extension(ef.create_extension('subjectAltName', san)) if san
  end

  def crl
    crl = OpenSSL::X509::CRL.new
    crl.version = 1
    crl.issuer = @ca.cert.subject
    crl.last_update = Time.now - 60
    crl.next_update = Time.now + 3600
    crl.add_extension(OpenSSL::X509::Extension.new('crlNumber', OpenSSL::ASN1::Integer(1)))
    crl.sign(@ca.key, OpenSSL::Digest.new('SHA256'))
    crl
  end
end
