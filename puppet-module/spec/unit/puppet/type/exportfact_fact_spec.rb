# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:exportfact_fact) do
  def make(title, params = {})
    described_class.new({ title: title }.merge(params))
  end

  it 'splits a category.name title' do
    r = make('db.keystone_url', value: 'x')
    expect([r[:category], r[:fact]]).to eq(['db', 'keystone_url'])
    expect(r.name).to eq('db.keystone_url')
  end

  it 'accepts category/name too' do
    expect(make('db/url', value: 'x')[:category]).to eq('db')
  end

  it 'takes the fact name from a plain title, with the category as a parameter' do
    r = make('http_proxy_host', category: 'http_proxy', value: 'x')
    expect(r.name).to eq('http_proxy.http_proxy_host')
  end

  it 'requires a category' do
    expect { make('http_proxy_host', value: 'x') }.to raise_error(Puppet::Error, %r{category is required})
  end

  it 'rejects names that are not Facter-style' do
    expect { make('Db.url', value: 'x') }.to raise_error(Puppet::Error, %r{must match})
    expect { make('x', category: 'db', fact: 'a' * 65, value: 1) }.to raise_error(Puppet::Error, %r{at most 64})
  end

  it 'requires a value unless absent' do
    expect { make('db.url') }.to raise_error(Puppet::Error, %r{value is required})
    expect { make('db.url', ensure: :absent) }.not_to raise_error
  end

  it 'keeps arrays and hashes whole' do
    expect(make('db.list', value: ['a', 'b']).should(:value)).to eq(['a', 'b'])
    expect(make('db.map', value: { 'a' => [1, 2] }).should(:value)).to eq('a' => [1, 2])
  end

  it 'rejects values that are not JSON data' do
    expect { make('db.url', value: :undef) }.to raise_error(Puppet::Error, %r{undef})
    expect { make('db.url', value: { 1 => 'a' }) }.to raise_error(Puppet::Error, %r{not a string})
  end

  it 'compares values as JSON, whatever the key order' do
    prop = make('db.map', value: { 'a' => 1, 'b' => 2 }).property(:value)
    expect(prop.insync?('b' => 2, 'a' => 1)).to be true
    expect(prop.insync?('a' => 1)).to be false
    expect(prop.insync?(nil)).to be false
  end

  it 'munges multi to a boolean' do
    expect(make('mq.host', value: 'x', multi: 'true')[:multi]).to be true
    expect(make('mq.host', value: 'x')[:multi]).to be false
  end

  it 'two resources for one fact are a duplicate' do
    catalog = Puppet::Resource::Catalog.new
    catalog.add_resource(make('db.url', value: 'x'))
    expect { catalog.add_resource(make('url', category: 'db', value: 'y')) }.to raise_error(%r{already declared})
  end
end

describe Puppet::Type.type(:exportfact_withdraw) do
  let(:catalog) { Puppet::Resource::Catalog.new }
  let(:withdraw) { described_class.new(title: 'exportfact', view_source: source) }
  let(:source) { 'broker' }

  before(:each) do
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
    expect(withdraw.autorequire.map { |edge| edge.source.ref }).to contain_exactly('Exportfact_fact[db.url]', 'Exportfact_fact[db.old]', 'Exportfact_secret_export[db.root_password]')
  end

  it 'is in sync when nothing is left to withdraw' do
    expect(withdraw.property(:withdrawn).insync?([])).to be true
    expect(withdraw.property(:withdrawn).insync?(['db.gone'])).to be false
  end

  context 'when the view came from the cache' do
    let(:source) { 'cache' }

    it 'withdraws nothing and does not ask the broker' do
      expect(PuppetX::Exportfact::Client).not_to receive(:new)
      expect(withdraw.provider.withdrawn).to eq([])
    end
  end

  context 'in a run limited by tags' do
    it 'withdraws nothing' do
      Puppet[:tags] = 'only'
      expect(PuppetX::Exportfact::Client).not_to receive(:new)
      expect(withdraw.provider.withdrawn).to eq([])
    end
  end

  context 'with the broker' do
    it 'lists what this node exports beyond the catalog, and prunes to the catalog' do
      client = instance_double(PuppetX::Exportfact::Client)
      allow(PuppetX::Exportfact::Client).to receive(:new).and_return(client)
      allow(client).to receive(:exports).and_return([{ 'category' => 'db', 'name' => 'url' }, { 'category' => 'db', 'name' => 'gone' }])
      expect(withdraw.provider.withdrawn).to eq(['db.gone'])
      expect(client).to receive(:prune).with([['db', 'url']]).and_return([{ 'category' => 'db', 'name' => 'gone' }])
      expect(client).to receive(:close)
      withdraw.provider.withdrawn = []
    end

    it 'withdraws nothing (a warning) when the broker went away' do
      client = instance_double(PuppetX::Exportfact::Client)
      allow(PuppetX::Exportfact::Client).to receive(:new).and_return(client)
      allow(client).to receive(:exports).and_raise(PuppetX::Exportfact::Error, 'exportfact broker unreachable')
      expect(Puppet).to receive(:warning).with(%r{not withdrawing})
      expect(withdraw.provider.withdrawn).to eq([])
    end
  end
end
