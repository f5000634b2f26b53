# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/trigger/loop'
require 'puppet_x/exportfact/trigger/settings'

# The broker as the loop sees it: a view with a tag, this node's gates, or an outage.
class TriggerLoopBroker
  attr_accessor :view, :down
  attr_writer :gates
  attr_reader :watches

  def initialize
    @view = {}
    @gates = []
    @watches = []
    @version = 0
  end

  def change(view)
    @view = view
    @version += 1
  end

  def watch(etag:, seconds:)
    @watches << [etag, seconds]
    raise PuppetX::Exportfact::Error, 'exportfact broker unreachable (https://b:8150: Connection refused)' if down

    tag = %("v#{@version}")
    etag == tag ? { status: 304, etag: tag, url: 'https://b:8150' } : { status: 200, etag: tag, body: @view, url: 'https://b:8150' }
  end

  def gates
    raise PuppetX::Exportfact::Error, 'exportfact broker unreachable' if down

    @gates
  end
end

describe PuppetX::Exportfact::Trigger::Loop do
  let(:broker) { TriggerLoopBroker.new }
  # The agent as AgentState reports it: why no run may start (blocker), a run in progress, disabled.
  let(:agent) do
    Struct.new(:blocker, :running, :disabled).new(nil, false, false).tap do |a|
      a.define_singleton_method(:running?) { running }
      a.define_singleton_method(:disabled?) { disabled }
    end
  end
  # What the loop did: commands run, seconds slept, lines logged; `now` is its clock.
  let(:seen) { { runs: [], sleeps: [], lines: [], now: 1000.0 } }
  let(:runs) { seen[:runs] }
  let(:sleeps) { seen[:sleeps] }
  let(:lines) { seen[:lines] }
  let(:settings) { PuppetX::Exportfact::Trigger::Settings.new('command' => 'puppet agent --onetime', 'min_interval' => 60, 'wait' => 60) }
  let(:trigger) do
    described_class.new(settings: settings, client: broker, agent: agent, runner: ->(command) { (runs << command) && 0 },
                        log: ->(line) { lines << line }, clock: -> { seen[:now] }, random: Random.new(1),
                        sleeper: lambda { |s|
                          sleeps << s
                          seen[:now] += s
                        })
  end

  def requirement(key)
    { 'category' => key.split('.')[0], 'name' => key.split('.')[1], 'min' => 1 }
  end

  def closed(name, *keys)
    { 'name' => name, 'open' => false, 'missing' => keys.map { |k| requirement(k) } }
  end

  def facts(*keys)
    keys.each_with_object({ 'facts' => {} }) { |k, v| (v['facts'][k.split('.')[0]] ||= {})[k.split('.')[1]] = 'x' }
  end

  def tick(seconds)
    seen[:now] += seconds
  end

  before { broker.gates = [closed('role::keystone', 'db.keystone_url', 'mq.rpc_backend')] }

  it 'runs the command once when everything a closed gate misses appears, not when part of it does' do
    trigger.step
    broker.change(facts('mq.rpc_backend'))
    trigger.step
    expect(runs).to be_empty
    broker.change(facts('mq.rpc_backend', 'db.keystone_url'))
    trigger.step
    expect(runs).to eq(['puppet agent --onetime'])
    expect(lines.last(2).first)
      .to eq('gate role::keystone (db.keystone_url, mq.rpc_backend now exported) can open: running `puppet agent --onetime`')
  end

  it 'watches with the tag of the last view: at once the first time, then held for wait seconds' do
    3.times { trigger.step }
    expect(broker.watches).to eq([[nil, 60], ['"v0"', 60], ['"v0"', 60]])
  end

  it 'runs at most once per view: a gate the run left closed waits for the next change' do
    broker.change(facts('mq.rpc_backend', 'db.keystone_url'))
    3.times { trigger.step }
    expect(runs.length).to eq(1)
    tick(120)
    broker.change(facts('mq.rpc_backend', 'db.keystone_url', 'other.fact'))
    trigger.step
    expect(runs.length).to eq(2)
  end

  it 'starts no second run within min_interval: holds the watch for what is left, then runs' do
    broker.change(facts('mq.rpc_backend', 'db.keystone_url'))
    trigger.step
    tick(20)
    broker.change(facts('mq.rpc_backend', 'db.keystone_url', 'other.fact'))
    trigger.step
    expect(runs.length).to eq(1)
    expect(lines.last).to end_with('waiting: the last triggered run started less than 60s ago')
    tick(40)
    trigger.step
    expect(broker.watches.last(2).map(&:last)).to eq([60, 40])
    expect(runs.length).to eq(2)
  end

  it 'runs nothing while the agent is disabled or a run is in progress; looks again (every 30 s, 5 s), says it once' do
    agent.blocker = 'the agent is disabled (/var/state/agent_disabled.lock)'
    agent.disabled = true
    broker.change(facts('mq.rpc_backend', 'db.keystone_url'))
    3.times { trigger.step }
    agent.disabled = false
    agent.blocker = 'a Puppet run is in progress (/var/state/agent_catalog_run.lock)'
    trigger.step
    expect(runs).to be_empty
    expect(lines.grep(%r{waiting: }).length).to eq(2)
    agent.blocker = nil
    trigger.step
    expect(runs.length).to eq(1)
    # Each watch holds for what the step before decided: disabled three times, then a run in progress.
    expect(broker.watches.drop(1).map(&:last)).to eq([30, 30, 30, 5])
  end

  it 'reads the gates again soon while a run is in progress (the run reports the gates anew), else holds for wait' do
    broker.gates = []
    agent.running = true
    2.times { trigger.step }
    expect(broker.watches.last).to eq(['"v0"', described_class::RETRY])
    agent.running = false
    2.times { trigger.step }
    expect(broker.watches.last).to eq(['"v0"', 60])
  end

  it 'backs off while the broker is down, doubling up to a minute and never spinning, and starts over when it answers' do
    broker.down = true
    10.times { trigger.step }
    expect(sleeps.length).to eq(10)
    expect(sleeps.first).to be_between(0.5, 1)
    expect(sleeps.each_cons(2).take(5)).to all(satisfy { |a, b| b > a })
    expect(sleeps.last).to be_between(30, 60)
    broker.down = false
    trigger.step
    expect(lines.last).to eq('broker https://b:8150 answers again')
    broker.down = true
    trigger.step
    expect(sleeps.last).to be <= 1
  end
end
