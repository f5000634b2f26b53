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
