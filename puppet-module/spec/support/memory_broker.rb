# frozen_string_literal: true

require 'tmpdir'
require 'fileutils'
require 'json'
require 'digest'
require_relative 'fake_broker'

# WEBrick's mount_proc answers GET, POST and PUT only; the broker withdraws with DELETE.
unless WEBrick::HTTPServlet::ProcHandler.method_defined?(:do_DELETE)
  WEBrick::HTTPServlet::ProcHandler.send(:alias_method, :do_DELETE, :do_GET)
end

# A FakeBroker that answers the fact, export and secret endpoints of docs/api.md from
# in-memory tables, for one node (CERTNAME) among others, and a Puppet set-up (confdir with
# exportfact.yaml, ssldir, vardir) for that node.
#   facts:   {'cat.name' => {'value' => v, 'version' => n, 'exporter' => certname}} (single)
#            {'cat.name' => {'values' => {certname => v}, 'version' => n, 'multi' => true}} (per-node)
#   secrets: {'cat.name' => {'value' => v, 'version' => n, 'generated' => bool, 'multi' => bool}}
class MemoryBroker
  attr_reader :fake, :facts, :secrets, :tmp
  attr_accessor :down

  CERTNAME = 'node1.example.test'

  def initialize
    @tmp = Dir.mktmpdir('exportfact-broker-spec')
    @fake = FakeBroker.new(@tmp, certname: CERTNAME)
    @facts = {}
    @secrets = {}
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

  # What CERTNAME reads (GET /v1/facts).
  def view
    out = { 'environment' => 'production', 'facts' => {}, 'per_node' => {}, 'secrets' => {} }
    @facts.each do |key, f|
      cat, name = key.split('.')
      f['multi'] ? (out['per_node'][cat] ||= {})[name] = f['values'] : (out['facts'][cat] ||= {})[name] = f['value']
    end
    @secrets.each { |key, s| (out['secrets'][key.split('.').first] ||= {})[key.split('.').last] = { 'version' => s['version'] } }
    out
  end

  private

  def handle(req, res)
    return handle_view(req, res) if req.path == '/v1/facts'
    return handle_exports(res) if req.path == '/v1/exports'
    return prune(JSON.parse(req.body)['keep'], res) if req.path == '/v1/exports/prune'

    m = %r{\A/v1/(secrets|facts)/([a-z0-9_]+)/([a-z0-9_]+)(/generate)?\z}.match(req.path)
    return MemoryBroker.error(res, 404, 'route_not_found', req.path) unless m

    route(req, res, m)
  end

  def route(req, res, m)
    key = "#{m[2]}.#{m[3]}"
    if m[1] == 'facts' && req.request_method == 'PUT'
      body = JSON.parse(req.body)
      body['sensitive'] ? publish_secret(key, body, res) : publish(key, body, res)
    elsif m[1] == 'facts' && req.request_method == 'DELETE'
      withdraw(key) ? FakeBroker.json(res, 200, 'withdrawn' => true) : MemoryBroker.error(res, 404, 'fact_not_found', key)
    elsif m[4]
      generate(key, m, JSON.parse(req.body.to_s.empty? ? '{}' : req.body), res)
    else
      read(key, m, req, res)
    end
  end

  def handle_view(req, res)
    body = view
    etag = %("#{Digest::SHA256.hexdigest(JSON.generate(body))[0, 16]}")
    return res.status = 304 if req['If-None-Match'] == etag

    FakeBroker.json(res, 200, body, 'ETag' => etag)
  end

  # The facts and secrets CERTNAME exports: [[key, multi, sensitive, version]].
  def mine
    plain = @facts.select { |_, f| f['multi'] ? f['values'].key?(CERTNAME) : f['exporter'] == CERTNAME }
                  .map { |k, f| [k, f['multi'] ? true : false, false, f['version']] }
    held = @secrets.reject { |_, s| s['generated'] }.map { |k, s| [k, s['multi'] ? true : false, true, s['version']] }
    plain + held
  end

  def handle_exports(res)
    FakeBroker.json(res, 200, 'exports' => mine.map do |k, multi, sensitive, version|
      c, n = k.split('.')
      { 'category' => c, 'name' => n, 'multi' => multi, 'sensitive' => sensitive, 'version' => version }
    end)
  end

  def publish(key, body, res)
    f = @facts[key]
    return MemoryBroker.error(res, 409, 'fact_kind_conflict', "#{key} is published with the other kind") if f && (f['multi'] ? true : false) != body['multi']
    return MemoryBroker.error(res, 409, 'fact_owned_by_other', "#{key} is exported by #{f['exporter']}") if f && !f['multi'] && f['exporter'] != CERTNAME

    f ||= @facts[key] = body['multi'] ? { 'values' => {}, 'multi' => true, 'version' => 0 } : { 'exporter' => CERTNAME, 'version' => 0 }
    current = f['multi'] ? f['values'][CERTNAME] : f['value']
    created = f['version'].zero?
    unless current == body['value'] && !created
      f['multi'] ? f['values'][CERTNAME] = body['value'] : f['value'] = body['value']
      f['version'] += 1
    end
    FakeBroker.json(res, created ? 201 : 200, 'version' => f['version'])
  end

  def withdraw(key)
    f = @facts[key]
    return @secrets.delete(key) if f.nil?
    return @facts.delete(key) unless f['multi']

    gone = f['values'].delete(CERTNAME)
    @facts.delete(key) if f['values'].empty?
    gone
  end

  def prune(keep, res)
    kept = keep.map { |k| "#{k['category']}.#{k['name']}" }
    gone = mine.map(&:first).reject { |k| kept.include?(k) }
    gone.each { |k| withdraw(k) }
    FakeBroker.json(res, 200, 'withdrawn' => gone.map { |k| { 'category' => k.split('.').first, 'name' => k.split('.').last } })
  end

  def read(key, m, req, res)
    s = @secrets[key]
    return MemoryBroker.error(res, 404, 'secret_not_found', "no sensitive fact #{key} in environment production") unless s
    if req.query['version'] && req.query['version'].to_i != s['version']
      return MemoryBroker.error(res, 404, 'secret_not_found', "#{key} has no readable version #{req.query['version']}")
    end

    body = { 'category' => m[2], 'name' => m[3], 'version' => s['version'] }
    s['multi'] ? body['values'] = { CERTNAME => s['value'] } : body.merge!('state' => 'current', 'value' => s['value'])
    FakeBroker.json(res, 200, body)
  end

  def generate(key, m, body, res)
    s = @secrets[key]
    return MemoryBroker.error(res, 409, 'secret_not_generated', "#{key} is published by a node") if s && !s['generated']

    created = s.nil?
    @secrets[key] = s = { 'value' => 'G' * (body['length'] || 32), 'version' => 1, 'generated' => true, 'request' => body } if created
    FakeBroker.json(res, created ? 201 : 200, 'category' => m[2], 'name' => m[3], 'version' => s['version'], 'state' => 'current', 'value' => s['value'], 'created' => created)
  end

  def publish_secret(key, body, res)
    s = @secrets[key]
    return MemoryBroker.error(res, 409, 'secret_generated', "#{key} is generated by the broker") if s && s['generated']

    if s.nil? || s['value'] != body['value']
      @secrets[key] = { 'value' => body['value'], 'version' => (s ? s['version'] + 1 : 1), 'multi' => body['multi'], 'sensitive' => body['sensitive'] }
    end
    FakeBroker.json(res, s ? 200 : 201, 'version' => @secrets[key]['version'])
  end
end
