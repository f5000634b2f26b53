# frozen_string_literal: true

require 'spec_helper'
require_relative '../support/view_facts'

# What exportfact::gate and exportfact::ready put in the catalog for the broker: one
# exportfact_gate per gate (names only), whatever the gate's outcome.
describe 'exportfact', type: :class do
  let(:facts) { ExportfactSpec::VIEW_FACTS }

  context 'with exportfact::gate' do
    let(:pre_condition) do
      <<~PP
        if exportfact::gate('role::keystone', ['db.keystone_url', 'rabbitmq.host >= 3', {fact => 'db.nova_url'}]) {}
        if exportfact::gate('role::keystone', ['db.other']) {}
        if exportfact::gate('role::web', 'db.keystone_url') {}
      PP
    end

    it { is_expected.to compile.with_all_deps }

    it 'reports what a closed gate needs and misses, in one shape' do
      is_expected.to contain_exportfact_gate('role::keystone').with(
        open: false, requires: ['db.keystone_url', 'rabbitmq.host>=3', 'db.nova_url'], missing: ['rabbitmq.host>=3', 'db.nova_url'],
      )
    end

    it { is_expected.to contain_exportfact_gate('role::web').with(open: true, requires: ['db.keystone_url'], missing: []) }

    it 'keeps the first declaration of a name' do
      expect(catalogue.resource('Exportfact_gate', 'role::keystone')[:requires]).not_to include('db.other')
    end

    it('never puts a value in the report') { expect(catalogue.to_data_hash.to_s).not_to include('mysql://db1/keystone') }
  end

  context 'with exportfact::ready' do
    let(:pre_condition) do
      <<~PP
        if exportfact::ready(['rabbitmq.host>=2', 'db.keystone_url', 'db.keystone_url >= 1']) {}
        if exportfact::ready({fact => 'db.nova_url'}) {}
        if exportfact::ready([]) {}
      PP
    end

    it { is_expected.to compile.with_all_deps }

    it 'names its gate after its requirements, sorted, so the name stays from run to run' do
      is_expected.to contain_exportfact_gate('ready db.keystone_url, rabbitmq.host>=2')
        .with(open: true, requires: ['rabbitmq.host>=2', 'db.keystone_url'], missing: [])
    end

    it { is_expected.to contain_exportfact_gate('ready db.nova_url').with(open: false, missing: ['db.nova_url']) }
    it('reports nothing for no requirement') { expect(catalogue.resources.count { |r| r.type == 'Exportfact_gate' }).to eq(2) }
  end
end
