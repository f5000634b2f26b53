# frozen_string_literal: true

require 'openssl'
require 'webrick'
require 'webrick/https'
require 'json'

# A throwaway HTTPS broker for unit tests: its own CA, a server certificate for 127.0.0.1,
# a client certificate in a Puppet-style ssldir, and canned answers.
class FakeBroker
  attr_reader :port, :ssldir, :requests, :connections
  attr_accessor :handler

  def initialize(dir, certname: 'node1.example.test')
    @dir = dir
    @certname = certname
    @requests = []
    @connections = 0
    @handler = ->(_req, res) { res.status = 404 }
    make_pki
  end

  def start
    @server = WEBrick::HTTPServer.new(
      BindAddress: '127.0.0.1', Port: 0, Logger: WEBrick::Log.new(File::NULL), AccessLog: [],
      SSLEnable: true, SSLCertificate: @server_cert, SSLPrivateKey: @server_key,
      SSLVerifyClient: OpenSSL::SSL::VERIFY_PEER | OpenSSL::SSL::VERIFY_FAIL_IF_NO_PEER_CERT,
      SSLCertificateStore: store,
      # Counts TLS connections: a run should reuse one.
      AcceptCallback: ->(_sock) { @connections += 1 }
    )
    @port = @server.config[:Port]
    @server.mount_proc('/') do |req, res|
      @requests << { method: req.request_method, path: req.path, headers: req.header, body: req.body,
                     cn: req.client_cert&.subject&.to_a&.find { |k, _| k == 'CN' }&.at(1) }
      @handler.call(req, res)
    end
    @thread = Thread.new { @server.start }
    self
  end

  def stop
    @server&.shutdown
    @thread&.join
  end

  def url
    "https://127.0.0.1:#{@port}"
  end

  def self.json(res, status, body, headers = {})
    res.status = status
    res['Content-Type'] = 'application/json'
    headers.each { |k, v| res[k] = v }
    res.body = JSON.generate(body)
  end

  private

  def store
    s = OpenSSL::X509::Store.new
    s.add_cert(@ca_cert)
    s
  end

  def key
    OpenSSL::PKey::RSA.new(2048)
  end

  def cert(subject, pub, issuer_cert, issuer_key, ca: false, san: nil)
    c = OpenSSL::X509::Certificate.new
    c.version = 2
    c.serial = rand(1 << 60)
    c.subject = OpenSSL::X509::Name.parse(subject)
    c.issuer = issuer_cert ? issuer_cert.subject : c.subject
    c.public_key = pub
    c.not_before = Time.now - 60
    c.not_after = Time.now + 3600
    ef = OpenSSL::X509::ExtensionFactory.new
    ef.subject_certificate = c
    ef.issuer_certificate = issuer_cert || c
    c.add_extension(ef.create_extension('basicConstraints', ca ? 'CA:TRUE' : 'CA:FALSE', true))
    c.add_extension(ef.create_extension('keyUsage', ca ? 'keyCertSign,cRLSign' : 'digitalSignature,keyEncipherment', true))
    c.add_extension(ef.create_extension('subjectKeyIdentifier', 'hash'))
    c.add_extension(ef.create_extension('subjectAltName', san)) if san
    c.sign(issuer_key, OpenSSL::Digest.new('SHA256'))
    c
  end

  def make_pki
    ca_key = key
    @ca_cert = cert('/CN=Fake Puppet CA', ca_key.public_key, nil, ca_key, ca: true)
    @server_key = key
    @server_cert = cert('/CN=localhost', @server_key.public_key, @ca_cert, ca_key, san: 'DNS:localhost,IP:127.0.0.1')
    client_key = key
    client_cert = cert("/CN=#{@certname}", client_key.public_key, @ca_cert, ca_key)
    crl = OpenSSL::X509::CRL.new
    crl.version = 1
    crl.issuer = @ca_cert.subject
    crl.last_update = Time.now - 60
    crl.next_update = Time.now + 3600
    ef = OpenSSL::X509::ExtensionFactory.new
    ef.issuer_certificate = @ca_cert
    ef.crl = crl
    crl.add_extension(OpenSSL::X509::Extension.new('crlNumber', OpenSSL::ASN1::Integer(1)))
    crl.sign(ca_key, OpenSSL::Digest.new('SHA256'))

    @ssldir = File.join(@dir, 'ssl')
    FileUtils.mkdir_p([File.join(@ssldir, 'certs'), File.join(@ssldir, 'private_keys')])
    File.write(File.join(@ssldir, 'certs', 'ca.pem'), @ca_cert.to_pem)
    File.write(File.join(@ssldir, 'certs', "#{@certname}.pem"), client_cert.to_pem)
    File.write(File.join(@ssldir, 'private_keys', "#{@certname}.pem"), client_key.to_pem)
    File.write(File.join(@ssldir, 'crl.pem'), crl.to_pem)
  end
end
