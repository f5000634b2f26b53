# frozen_string_literal: true

require 'tmpdir'
require 'fileutils'
require 'json'
require 'digest'
require_relative 'fake_broker'
require_relative 'memory_broker/fact_table'
require_relative 'memory_broker/secret_table'
require_relative 'memory_broker/gate_table'

# WEBrick's mount_proc answers GET, POST and PUT only; the broker withdraws with DELETE.
unless WEBrick::HTTPServlet::ProcHandler.method_defined?(:do_DELETE)
  WEBrick::HTTPServlet::ProcHandler.send(:alias_method, :do_DELETE, :do_GET)
end

# A FakeBroker that answers the fact, export, secret and gate endpoints of docs/api.md from
# in-memory tables (FactTable, SecretTable, GateTable), for one node (CERTNAME) among others, and a
# Puppet set-up (confdir with exportfact.yaml, ssldir, vardir) for that node.
class MemoryBroker
  include FactTable
  include SecretTable
  include GateTable

  attr_reader :fake, :facts, :secrets, :gates, :tmp

  CERTNAME = 'node1.example.test'

  def initialize
    @tmp = Dir.mktmpdir('exportfact-broker-spec')
    @fake = FakeBroker.new(@tmp, certname: CERTNAME)
    @facts = {}
    @secrets = {}
    @gates = {}
    @fake.handler = ->(req, res) { handle(req, res) }
    @fake.start
  end

  def requests
    @fake.requests
  end

  # [method, path] of each request, e.g. ['PUT', '/v1/facts/db/url'].
  def calls
    requests.map { |r| [r[:method], r[:path]] }
  end

  def setup_puppet(url: @fake.url)
    confdir = File.join(@tmp, 'conf')
    FileUtils.mkdir_p(confdir)
    File.write(File.join(confdir, 'exportfact.yaml'), JSON.generate('url' => url, 'connect_timeout' => 1, 'read_timeout' => 2))
    Puppet[:confdir] = confdir
    Puppet[:certname] = CERTNAME
    Puppet[:ssldir] = @fake.ssldir
    Puppet[:vardir] = File.join(@tmp, 'var')
    Puppet[:certificate_revocation] = 'chain'
  end

  def stop
    @fake.stop
    FileUtils.rm_rf(@tmp)
  end

  def self.error(res, status, code, message)
    FakeBroker.json(res, status, 'error' => { 'code' => code, 'message' => message })
  end

  private

  def handle(req, res)
    return if handle_gates(req, res)
    return handle_view(req, res) if req.path == '/v1/facts'
    return handle_exports(res) if req.path == '/v1/exports'
    return prune(JSON.parse(req.body)['keep'], res) if req.path == '/v1/exports/prune'

    match = %r{\A/v1/(secrets|facts)/([a-z0-9_]+)/([a-z0-9_]+)(/generate)?\z}.match(req.path)
    return MemoryBroker.error(res, 404, 'route_not_found', req.path) unless match

    route(req, res, match)
  end

  def route(req, res, match)
    kind = match[1]
    address = [match[2], match[3]]
    generating = match[4]
    key = address.join('.')
    if kind == 'facts' && req.request_method == 'PUT'
      body = JSON.parse(req.body)
      body['sensitive'] ? publish_secret(key, body, res) : publish(key, body, res)
    elsif kind == 'facts' && req.request_method == 'DELETE'
      withdraw(key) ? FakeBroker.json(res, 200, 'withdrawn' => true) : MemoryBroker.error(res, 404, 'fact_not_found', key)
    elsif generating
      generate(key, address, JSON.parse(req.body.to_s.empty? ? '{}' : req.body), res)
    else
      read(key, address, req, res)
    end
  end
end
