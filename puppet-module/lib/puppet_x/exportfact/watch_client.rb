# frozen_string_literal: true

require_relative 'client'
require_relative 'config'

module PuppetX
  module Exportfact
    # The client of the trigger (Trigger::Loop): the module's Client, plus the blocking watch of
    # docs/api.md (*Watching: ?wait=*). Its read timeout covers the wait, the broker's jitter
    # (up to 1/16 of it) and exportfact.yaml's own read_timeout, so a held request is never cut
    # short, while a broker that answers nothing at all is still noticed.
    class WatchClient < Client
      attr_reader :wait

      # @param config [Config] exportfact.yaml as read
      # @param wait [Numeric] seconds the broker may hold a request (it cuts more than 300)
      def initialize(config, wait:)
        @wait = wait
        longer = { 'url' => config.urls, 'connect_timeout' => config.connect_timeout,
                   'read_timeout' => config.read_timeout + (wait * 17.0 / 16).ceil }
        super(Config.new(longer, config.path))
      end

      # GET /v1/facts?wait=Ns with If-None-Match: answers when the view is no longer etag (200)
      # or when the wait ends (304). Without a tag, answers at once.
      # @param seconds [Numeric] this hold (at most #wait: the read timeout is sized for that)
      # @return [Hash] {status: 200|304, etag:, body:, url:}
      def watch(etag: nil, seconds: wait)
        held = [seconds, wait].min.ceil
        headers = etag ? { 'If-None-Match' => etag } : {}
        request(:get, "/v1/facts?wait=#{held}s", headers: headers, accept: [200, 304]) do |resp, url|
          status = resp.code.to_i
          { status: status, etag: resp['ETag'] || etag, body: status == 200 ? parse(resp, url) : nil, url: @last_url }
        end
      end
    end
  end
end
