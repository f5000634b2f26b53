# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:exportfact_withdraw) do
  let(:catalog) { Puppet::Resource::Catalog.new }
  let(:withdraw) { described_class.new(title: 'exportfact', view_source: source) }
  let(:source) { 'broker' }

  before do
    catalog.add_resource(Puppet::Type.type(:exportfact_fact).new(title: 'db.url', value: 'x'))
    catalog.add_resource(Puppet::Type.type(:exportfact_fact).new(title: 'db.old', ensure: :absent))
    catalog.add_resource(withdraw)
  end

  it 'keeps what the catalog declares present' do
    expect(withdraw.declared).to eq([['db', 'url']])
  end

  it 'keeps node-held secrets the catalog declares, and publishes them before withdrawing' do
    secret = Puppet::Type.type(:exportfact_secret_export).new(title: 'db.root_password', source: '/etc/mysql/root.pw')
    catalog.add_resource(secret)
    expect(withdraw.declared).to contain_exactly(['db', 'url'], ['db', 'root_password'])
    expect(withdraw.autorequire.map do |edge|
             edge.source.ref
           end).to contain_exactly('Exportfact_fact[db.url]', 'Exportfact_fact[db.old]', 'Exportfact_secret_export[db.root_password]')
  end

  it 'keeps the gates the catalog declares, and comes after their reports' do
    catalog.add_resource(Puppet::Type.type(:exportfact_gate).new(title: 'role::keystone', open: true, requires: ['db.url']))
    catalog.add_resource(Puppet::Type.type(:exportfact_gate).new(title: 'role::gone', ensure: :absent))
    expect(withdraw.declared_gates).to eq(['role::keystone'])
    expect(withdraw.autorequire.map { |edge| edge.source.ref }).to include('Exportfact_gate[role::keystone]')
  end

  it 'is in sync when nothing is left to withdraw' do
    expect(withdraw.property(:withdrawn).insync?([])).to be true
    expect(withdraw.property(:withdrawn).insync?(['db.gone'])).to be false
    expect(withdraw.property(:stale_gates).insync?([])).to be true
    expect(withdraw.property(:stale_gates).insync?(['role::gone'])).to be false
  end

  # What it withdraws, and when not: spec/unit/puppet/provider/exportfact_withdraw/broker_spec.rb
  # (against the fake broker).
end
