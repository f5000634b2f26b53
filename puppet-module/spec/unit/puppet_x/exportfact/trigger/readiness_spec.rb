# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/trigger/readiness'

describe PuppetX::Exportfact::Trigger::Readiness do
  def requirement(key, min = 1)
    category, name = key.split('.')
    { 'category' => category, 'name' => name, 'min' => min }
  end

  def gate(name, missing, open: false)
    { 'name' => name, 'open' => open, 'missing' => missing.map { |k, min| requirement(k, min || 1) } }
  end

  let(:view) do
    { 'facts' => { 'db' => { 'keystone_url' => 'mysql://db/keystone', 'flag' => false } },
      'per_node' => { 'rabbitmq' => { 'host' => { 'mq1' => 'mq1', 'mq2' => nil } } },
      'secrets' => { 'nova' => { 'db_password' => { 'version' => 2 } } } }
  end

  it 'names a closed gate whose every missing requirement the view meets, with what appeared' do
    gates = [gate('role::keystone', [['db.keystone_url'], ['rabbitmq.host']])]
    expect(described_class.openable(gates, view)).to eq([{ name: 'role::keystone', met: ['db.keystone_url', 'rabbitmq.host'] }])
  end

  it 'counts as exportfact::seen does: a false value and a listed secret count, a per-node fact counts its nodes with a value' do
    expect(described_class.openable([gate('a', [['db.flag'], ['nova.db_password']])], view).map { |g| g[:name] }).to eq(['a'])
    expect(described_class.openable([gate('b', [['rabbitmq.host', 2]])], view)).to eq([])
    expect(described_class.count(view, 'rabbitmq', 'host')).to eq(1)
  end

  it 'leaves out open gates, gates still missing something, and a closed gate that lists nothing missing' do
    gates = [gate('open', [], open: true), gate('partly', [['db.keystone_url'], ['nova.api_url']]), gate('odd', [])]
    expect(described_class.openable(gates, view)).to eq([])
  end

  it 'reads a view that is empty or not a mapping as holding nothing' do
    expect(described_class.openable([gate('k', [['db.keystone_url']])], nil)).to eq([])
    expect(described_class.count({ 'facts' => { 'db' => 'x' } }, 'db', 'keystone_url')).to eq(0)
  end

  it 'says whether the node waits for anything' do
    expect(described_class.waiting?([gate('a', [], open: true)])).to be(false)
    expect(described_class.waiting?([gate('a', [], open: true), gate('b', [['db.x']])])).to be(true)
  end
end
