# frozen_string_literal: true

require 'net/http'
require 'openssl'
require 'uri'
require 'puppet'
require_relative 'error'

module PuppetX
  module Exportfact
    # Keep-alive HTTPS connections to the brokers, one per broker URL, presenting this node's
    # Puppet certificate.
    #
    # Why Net::HTTP and not `Puppet.runtime[:http]`: Puppet's client takes its timeouts from
    # the global settings `http_connect_timeout` (2 minutes) and `http_read_timeout`, with no
    # per-request option, while a broker that is down must cost a run seconds
    # (`connect_timeout`, `read_timeout` of exportfact.yaml). The TLS side is Puppet's own:
    # the SSL context of `Puppet::SSL::SSLProvider` (hostcert, hostprivkey, localcacert and
    # hostcrl of this node's settings, `certificate_revocation` honoured), set up on the
    # connection as Puppet's own verifier does it. Brokers are reached directly (Puppet's
    # `http_proxy_*` settings are not used).
    class Connections
      def initialize(connect_timeout:, read_timeout:)
        @connect_timeout = connect_timeout
        @read_timeout = read_timeout
        @open = {}
      end

      # A started connection to the broker at base (reused while it stays open; Net::HTTP
      # reconnects after Puppet's `http_keepalive_timeout` of idleness, or when the broker
      # closed it).
      # @param base [String] https://host:port
      # @return [Net::HTTP]
      def to(base)
        http = (@open[base] ||= build(URI(base)))
        http.start unless http.started?
        http
      end

      def close
        @open.each_value { |http| finish(http) }
        @open.clear
      end

      # Closes and forgets the connection to base (after a failed request).
      def drop(base)
        http = @open.delete(base)
        finish(http) if http
      end

      private

      def finish(http)
        http.finish if http.started?
      rescue IOError, SystemCallError, OpenSSL::SSL::SSLError
        nil # already gone: nothing to close
      end

      def build(uri)
        http = Net::HTTP.new(uri.host, uri.port, nil)
        http.use_ssl = true
        http.open_timeout = @connect_timeout
        http.read_timeout = @read_timeout
        http.write_timeout = @read_timeout
        http.keep_alive_timeout = Puppet[:http_keepalive_timeout]
        # As Puppet does: no silent retry, which would double the wait on a hung broker.
        http.max_retries = 0
        use_ssl_context(http)
        http
      end

      def use_ssl_context(http)
        ctx = ssl_context
        http.cert_store = ctx.store
        http.cert = ctx.client_cert
        http.key = ctx.private_key
        http.verify_mode = OpenSSL::SSL::VERIFY_PEER
        http.verify_hostname = true
      end

      def ssl_context
        @ssl_context ||= Puppet::SSL::SSLProvider.new.load_context(
          certname: Puppet[:certname], revocation: Puppet[:certificate_revocation],
        )
      rescue StandardError => e
        raise Error, "cannot load this node's certificate, key, CA or CRL (ssldir #{Puppet[:ssldir]}): #{e.message}"
      end
    end
  end
end
