# frozen_string_literal: true

require 'json'
require 'uri'
require 'puppet'
require 'puppet/http'
require_relative 'config'

module PuppetX
  module Exportfact
    # Raised for anything that stops a request from getting an answer we can use.
    class Error < StandardError
      attr_reader :status, :code

      def initialize(message, status: nil, code: nil)
        super(message)
        @status = status
        @code = code
      end

      # The broker could not be reached at all (as opposed to: it answered with an error).
      def unreachable?
        status.nil? || status >= 500
      end
    end

    # The one HTTPS client of the module. It speaks with the agent's own certificate and key,
    # the CA bundle and CRL (Puppet's `hostcert`, `hostprivkey`, `localcacert`, `hostcrl`,
    # through Puppet's SSL provider, so `--ssldir`, `--certname` and `certificate_revocation`
    # are honoured), with the short timeouts of exportfact.yaml, no redirects and no
    # Retry-After sleeps. Several URLs are tried in order.
    class Client
      # A Net::HTTP factory with our own timeouts instead of Puppet's global ones.
      class Factory < Puppet::HTTP::Factory
        def initialize(connect_timeout, read_timeout)
          super()
          @connect_timeout = connect_timeout
          @read_timeout = read_timeout
        end

        def create_connection(site)
          http = super
          http.open_timeout = @connect_timeout
          http.read_timeout = @read_timeout
          http.write_timeout = @read_timeout if http.respond_to?(:write_timeout=)
          http
        end
      end

      # A connection pool using that factory.
      class Pool < Puppet::HTTP::Pool
        def initialize(keepalive_timeout, factory)
          super(keepalive_timeout)
          @factory = factory
        end
      end

      attr_reader :config, :last_url

      def initialize(config = Config.load, ssl_context: nil)
        @config = config
        @ssl_context = ssl_context
      end

      # GET /v1/facts, conditional on etag.
      # @return [Hash] {status: 200|304, etag:, body:, url:}
      def view(etag: nil)
        headers = {}
        headers['If-None-Match'] = etag if etag
        request(:get, '/v1/facts', headers: headers, accept: [200, 304]) do |resp, url|
          { status: resp.code, etag: resp['ETag'], body: resp.code == 200 ? parse(resp, url) : nil, url: @last_url }
        end
      end

      # PUT /v1/facts/{category}/{name}
      def publish(category, name, value, multi: false)
        body = JSON.generate('value' => value, 'sensitive' => false, 'multi' => multi ? true : false)
        request(:put, fact_path(category, name), body: body, accept: [200, 201]) { |resp, url| parse(resp, url) }
      end

      # DELETE /v1/facts/{category}/{name}; nil when there was nothing to withdraw.
      def withdraw(category, name)
        request(:delete, fact_path(category, name), accept: [200, 404]) do |resp, url|
          resp.code == 404 ? nil : parse(resp, url)
        end
      end

      # GET /v1/exports: [{category, name, multi, sensitive, version}]
      def exports
        request(:get, '/v1/exports', accept: [200]) { |resp, url| parse(resp, url)['exports'] || [] }
      end

      # POST /v1/exports/prune: withdraws what is not in keep; returns [{category, name}]
      def prune(keep)
        body = JSON.generate('keep' => keep.map { |c, n| { 'category' => c, 'name' => n } })
        request(:post, '/v1/exports/prune', body: body, accept: [200]) { |resp, url| parse(resp, url)['withdrawn'] || [] }
      end

      def close
        @http&.close
        @http = nil
      end

      private

      def fact_path(category, name)
        "/v1/facts/#{URI.encode_www_form_component(category)}/#{URI.encode_www_form_component(name)}"
      end

      def http
        @http ||= Puppet::HTTP::Client.new(
          pool: Pool.new(Puppet[:http_keepalive_timeout], Factory.new(config.connect_timeout, config.read_timeout)),
          ssl_context: ssl_context,
          redirect_limit: 0,
          retry_limit: 0,
        )
      end

      def ssl_context
        @ssl_context ||= Puppet::SSL::SSLProvider.new.load_context(
          certname: Puppet[:certname], revocation: Puppet[:certificate_revocation],
        )
      rescue StandardError => e
        raise Error, "cannot load this node's certificate, key, CA or CRL (ssldir #{Puppet[:ssldir]}): #{e.message}"
      end

      # Tries each URL until one answers. A broker that answers with a 4xx is an answer
      # (the request itself is wrong or refused): it is raised at once, not retried elsewhere.
      def request(method, path, headers: {}, body: nil, accept: [200])
        errors = []
        config.urls.each do |base|
          url = base + path
          begin
            resp = send_request(method, url, headers, body)
          rescue Puppet::HTTP::HTTPError, SystemCallError, IOError, OpenSSL::SSL::SSLError, Timeout::Error, SocketError => e
            errors << "#{base}: #{e.message}"
            next
          end
          code = resp.code
          if accept.include?(code)
            @last_url = base
            return yield(resp, url)
          end
          err = api_error(resp, method, url)
          raise err unless err.unreachable?
          errors << "#{base}: #{err.message}"
        end
        raise Error, "exportfact broker unreachable (#{errors.join('; ')})"
      end

      def send_request(method, url, headers, body)
        uri = URI(url)
        headers = { 'Accept' => 'application/json' }.merge(headers)
        case method
        when :get then http.get(uri, headers: headers)
        when :delete then http.delete(uri, headers: headers)
        when :put then http.put(uri, body, headers: headers.merge('Content-Type' => 'application/json'))
        when :post then http.post(uri, body, headers: headers.merge('Content-Type' => 'application/json'))
        else raise ArgumentError, "unknown method #{method}"
        end
      end

      def api_error(resp, method, url)
        detail = begin
          JSON.parse(resp.body.to_s)['error'] || {}
        rescue JSON::ParserError
          {}
        end
        code = detail['code']
        message = detail['message'] || resp.body.to_s[0, 200]
        Error.new("#{method.to_s.upcase} #{url} answered #{resp.code}#{code ? " #{code}" : ''}: #{message}",
                  status: resp.code, code: code)
      end

      def parse(resp, url)
        JSON.parse(resp.body.to_s)
      rescue JSON::ParserError => e
        raise Error.new("#{url} answered #{resp.code} with a body that is not JSON: #{e.message}", status: resp.code)
      end
    end
  end
end
