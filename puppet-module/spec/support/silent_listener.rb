# frozen_string_literal: true

require 'socket'

# A broker that does not answer: it accepts TCP connections and never sends a byte (no TLS
# handshake, no HTTP answer), holding each connection open until #stop. Counts what it accepted.
class SilentListener
  attr_reader :port

  def initialize
    @server = TCPServer.new('127.0.0.1', 0)
    @port = @server.addr[1]
    @held = []
    @lock = Mutex.new
    @thread = Thread.new { accept_all }
  end

  def url
    "https://127.0.0.1:#{@port}"
  end

  # Connections accepted so far.
  def accepted
    @lock.synchronize { @held.length }
  end

  def stop
    @thread.kill
    @thread.join
    @server.close
    @lock.synchronize { @held.each(&:close) }
  end

  private

  def accept_all
    loop do
      socket = @server.accept
      @lock.synchronize { @held << socket }
    end
  rescue IOError
    nil # closed by #stop
  end
end

# A port nothing listens on (connection refused).
def closed_port_url
  server = TCPServer.new('127.0.0.1', 0)
  port = server.addr[1]
  server.close
  "https://127.0.0.1:#{port}"
end
