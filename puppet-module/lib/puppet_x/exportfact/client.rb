# frozen_string_literal: true

require 'json'
require 'uri'
require 'puppet'
require_relative 'bodies'
require_relative 'config'
require_relative 'connections'
require_relative 'error'
require_relative 'gate_requests'
require_relative 'paths'
require_relative 'unanswered'

module PuppetX
  module Exportfact
    # The one HTTPS client of the module: the requests of docs/api.md, with this node's
    # Puppet certificate (see Connections), the short timeouts of exportfact.yaml, no
    # redirects and no retries. Several URLs are tried in order (failover); one that did not
    # answer earlier in this run is skipped (Unanswered), so a dead broker costs a run one
    # timeout, not one per request.
    class Client
      include Bodies
      include GateRequests

      attr_reader :config, :last_url

      def initialize(config = Config.load)
        @config = config
        @connections = Connections.new(connect_timeout: config.connect_timeout, read_timeout: config.read_timeout)
      end

      # GET /v1/facts, conditional on etag.
      # @return [Hash] {status: 200|304, etag:, body:, url:}
      def view(etag: nil)
        headers = etag ? { 'If-None-Match' => etag } : {}
        request(:get, '/v1/facts', headers: headers, accept: [200, 304]) do |resp, url|
          status = resp.code.to_i
          { status: status, etag: resp['ETag'], body: status == 200 ? parse(resp, url) : nil, url: @last_url }
        end
      end

      # PUT /v1/facts/{category}/{name}; a sensitive fact is a secret this node holds.
      def publish(category, name, value, multi: false, sensitive: false)
        body = JSON.generate('value' => value, 'sensitive' => sensitive, 'multi' => multi ? true : false)
        request(:put, path('facts', category, name), body: body, accept: [200, 201]) do |resp, url|
          sensitive ? parse_secret(resp, url) : parse(resp, url)
        end
      end

      # DELETE /v1/facts/{category}/{name}; nil when there was nothing to withdraw.
      def withdraw(category, name)
        request(:delete, path('facts', category, name), accept: [200, 404]) do |resp, url|
          resp.code == '404' ? nil : parse(resp, url)
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

      # GET /v1/secrets/{c}/{n}[?version=N]
      def secret(category, name, version: nil)
        query = version ? "?version=#{Integer(version)}" : ''
        request(:get, path('secrets', category, name) + query, accept: [200]) { |resp, url| parse_secret(resp, url) }
      end

      # POST /v1/secrets/{c}/{n}/generate: made once by the broker, the same value after.
      def generate(category, name, length: nil, alphabet: nil)
        body = {}
        body['length'] = Integer(length) if length
        body['alphabet'] = alphabet.to_s if alphabet
        request(:post, "#{path('secrets', category, name)}/generate", body: JSON.generate(body), accept: [200, 201]) do |resp, url|
          parse_secret(resp, url)
        end
      end

      # Ends this run's connections (and what was learnt with them: see GateRequests).
      def close
        forget_gates
        @connections.close
      end

      private

      def path(kind, category, name)
        Paths.fact(kind, category, name)
      end

      # Tries each URL until one answers. A broker that answers with a 4xx is an answer
      # (the request itself is wrong or refused): it is raised at once, not retried elsewhere.
      # One that answers 5xx answered (it is asked again next time); one that did not answer
      # at all is not asked again in this run.
      def request(method, path, headers: {}, body: nil, accept: [200])
        errors = []
        config.urls.each do |base|
          earlier = Unanswered.reason(base)
          next errors << "#{base}: not asked again, no answer earlier in this run (#{earlier})" if earlier

          url = base + path
          outcome = attempt(base, build_request(method, url, headers, body), accept)
          return yield(outcome, url) if outcome.is_a?(Net::HTTPResponse)

          errors << "#{base}: #{outcome}"
        end
        raise Error, "exportfact broker unreachable (#{errors.join('; ')})"
      end

      # The answer of the broker at base, or why there is none (a String). An answer that
      # refuses the request is raised.
      def attempt(base, req, accept)
        resp = @connections.to(base).request(req)
        if accept.include?(resp.code.to_i)
          @last_url = base
          return resp
        end
        err = Error.from_response(resp, req.method, req.uri.to_s)
        raise err unless err.unreachable?

        err.message
      rescue Timeout::Error, SystemCallError, IOError, OpenSSL::SSL::SSLError, SocketError, Net::HTTPBadResponse => e
        reason = transport_error(e)
        Unanswered.record(base, reason)
        # The connection may be half-open (a request sent, no answer read): never reuse it.
        @connections.drop(base)
        reason
      end

      REQUESTS = { get: Net::HTTP::Get, put: Net::HTTP::Put, post: Net::HTTP::Post, delete: Net::HTTP::Delete }.freeze
      private_constant :REQUESTS

      def build_request(method, url, headers, body)
        req = REQUESTS.fetch(method).new(URI(url),
                                         { 'Accept' => 'application/json', 'User-Agent' => Puppet[:http_user_agent] }.merge(headers))
        if body
          req['Content-Type'] = 'application/json'
          req.body = body
        end
        req
      end

      def transport_error(err)
        case err
        when Net::OpenTimeout then "no connection within #{config.connect_timeout}s"
        when Net::ReadTimeout, Net::WriteTimeout then "no answer within #{config.read_timeout}s"
        else err.message
        end
      end
    end
  end
end
