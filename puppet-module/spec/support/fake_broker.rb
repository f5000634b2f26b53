# frozen_string_literal: true

require 'openssl'
require 'webrick'
require 'webrick/https'
require 'json'
require_relative 'fake_pki'

# A throwaway HTTPS broker for unit tests: its own CA, a server certificate for 127.0.0.1,
# a client certificate in a Puppet-style ssldir, and canned answers.
class FakeBroker
  attr_reader :port, :ssldir, :requests, :connections
  attr_accessor :handler

  def initialize(dir, certname: 'node1.example.test')
    @requests = []
    @connections = 0
    @handler = ->(_req, res) { res.status = 404 }
    @pki = FakePki.new
    @identity = @pki.issue('/CN=localhost', san: 'DNS:localhost,IP:127.0.0.1')
    @ssldir = File.join(dir, 'ssl')
    @pki.write_ssldir(@ssldir, certname)
  end

  def start
    @server = WEBrick::HTTPServer.new(
      BindAddress: '127.0.0.1', Port: 0, Logger: WEBrick::Log.new(File::NULL), AccessLog: [],
      SSLEnable: true, SSLCertificate: @identity.cert, SSLPrivateKey: @identity.key,
      SSLVerifyClient: OpenSSL::SSL::VERIFY_PEER | OpenSSL::SSL::VERIFY_FAIL_IF_NO_PEER_CERT,
      SSLCertificateStore: @pki.store,
      # Counts TLS connections: a run should reuse one.
      AcceptCallback: ->(_sock) { @connections += 1 }
    )
    @port = @server.config[:Port]
    @server.mount_proc('/') do |req, res|
      @requests << { method: req.request_method, path: req.path, raw_path: req.request_uri.path, headers: req.header, body: req.body,
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
end
