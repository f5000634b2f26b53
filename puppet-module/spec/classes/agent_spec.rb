# frozen_string_literal: true

require 'spec_helper'
require 'yaml'
require 'tmpdir'
require 'puppet_x/exportfact/config'

describe 'exportfact::agent' do
  let(:config_file) { '/etc/puppetlabs/puppet/exportfact.yaml' }
  let(:facts) { { 'exportfact_status' => { 'source' => 'none', 'config_file' => config_file } } }

  # The file as the module's own reader (PuppetX::Exportfact::Config) reads it from disk.
  def written(path = config_file)
    Dir.mktmpdir('exportfact-agent-spec') do |dir|
      file = File.join(dir, 'exportfact.yaml')
      File.write(file, catalogue.resource('File', path)[:content])
      PuppetX::Exportfact::Config.load(file)
    end
  end

  context 'with brokers, timeouts and cache settings' do
    let(:params) do
      { urls: ['https://broker1.example.test:8150', 'https://broker2.example.test:8150/'], connect_timeout: 2, read_timeout: 4.5,
        top_level_facts: false, cache: true, cache_file: '/var/cache/exportfact/view.json' }
    end

    it { is_expected.to contain_file(config_file).with(ensure: 'file', mode: '0644') }

    it 'writes what the agent reads, with nothing unknown' do
      config = written
      expect(config.warnings).to eq([])
      expect(config.urls).to eq(['https://broker1.example.test:8150', 'https://broker2.example.test:8150'])
      expect([config.connect_timeout, config.read_timeout, config.top_level_facts, config.cache, config.cache_file])
        .to eq([2, 4.5, false, true, '/var/cache/exportfact/view.json'])
    end
  end

  context 'without parameters' do
    it 'writes no setting, so each keeps its default' do
      expect(YAML.safe_load(catalogue.resource('File', config_file)[:content])).to be_nil
      Puppet[:server] = 'puppet.example.test'
      expect(written.urls).to eq(['https://puppet.example.test:8150'])
    end
  end

  context 'without the fact (the module was not on the node yet)' do
    let(:facts) { {} }

    it { is_expected.to contain_file("#{Puppet[:confdir]}/exportfact.yaml") }
  end

  context 'with a path of its own' do
    let(:params) { { urls: ['https://broker.example.test:8150'], path: '/srv/exportfact.yaml' } }

    it { is_expected.to contain_file('/srv/exportfact.yaml').with_content(%r{^  - "https://broker.example.test:8150"$}) }
    it { is_expected.not_to contain_file(config_file) }
  end

  [
    [{ urls: ['http://broker.example.test:8150'] }, %r{urls}],
    [{ urls: [] }, %r{urls}],
    [{ urls: ['https://broker.example.test/" evil: 1'] }, %r{urls}],
    [{ connect_timeout: 0 }, %r{connect_timeout}],
    [{ read_timeout: '5' }, %r{read_timeout}],
    [{ cache_file: 'relative/view.json' }, %r{cache_file}],
  ].each do |bad, message|
    context "with #{bad}" do
      let(:params) { bad }

      it { is_expected.to compile.and_raise_error(message) }
    end
  end
end
