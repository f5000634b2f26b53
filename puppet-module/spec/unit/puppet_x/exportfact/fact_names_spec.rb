# frozen_string_literal: true

require 'spec_helper'
require 'facter'
require 'puppet_x/exportfact/fact_names'

describe PuppetX::Exportfact::FactNames do
  let(:taken) { described_class.taken }

  # Facter's own lists, read through its internals here only: the module keeps a static
  # list (no public API lists core facts without resolving them), and this says when the
  # Facter it runs with has a core fact the list lacks.
  def facter_core_names
    loaded = Facter::InternalFactLoader.new.facts.map { |f| f.name.to_s }
    grouped = defined?(Facter::Config::FACT_GROUPS) ? Facter::Config::FACT_GROUPS.values.flatten : []
    (loaded + grouped).uniq
  end

  # A name the Facter list gives as a pattern (`ipaddress_.*`, `zone_*_brand`), made concrete.
  def example_of(name)
    name.gsub('[0-9]+', '7').gsub('.*', '7').gsub('*', '7').split('.').first
  end

  it "reserves every core and legacy fact of this Facter (#{Facter.version})" do
    missing = facter_core_names.map { |n| example_of(n) }.uniq.reject { |n| described_class.match?(taken, n) }
    expect(missing).to eq([])
  end

  it 'reserves the module\'s own facts and the variables Puppet sets' do
    ['exportfact', 'exportfact_status', 'trusted', 'facts', 'environment', 'settings'].each do |n|
      expect(described_class.match?(taken, n)).to be(true), n
    end
  end

  it 'leaves names of the kind modules export free' do
    ['http_proxy_host', 'keystone_url', 'db_password', 'processor_count_x', 'sshd_port', 'zones_total'].each do |n|
      expect(described_class.match?(taken, n)).to be(false), n
    end
  end

  it 'finds the old module\'s facts.d file of a category' do
    dir = Dir.mktmpdir('exportfact-factsd')
    File.write(File.join(dir, 'http_proxy.txt'), "http_proxy_host=old\n")
    allow(Facter).to receive(:search_external_path).and_return([dir])
    expect(described_class.old_module_files(['http_proxy', 'db'])).to eq('http_proxy' => File.join(dir, 'http_proxy.txt'))
  ensure
    FileUtils.rm_rf(dir)
  end
end
