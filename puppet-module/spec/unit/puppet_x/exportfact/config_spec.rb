# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/config'

describe PuppetX::Exportfact::Config do
  it 'defaults to the Puppet server on port 8150' do
    Puppet[:server] = 'puppet.example.test'
    expect(described_class.new({}).urls).to eq(['https://puppet.example.test:8150'])
  end

  it 'takes a list of URLs for failover' do
    expect(described_class.new('url' => ['https://a:8150/', 'https://b:8150']).urls).to eq(['https://a:8150', 'https://b:8150'])
  end

  it 'refuses plain http and bad timeouts' do
    expect { described_class.new('url' => 'http://a') }.to raise_error(ArgumentError, %r{https://})
    expect { described_class.new('read_timeout' => 0) }.to raise_error(ArgumentError, %r{read_timeout})
  end

  it 'warns about unknown settings' do
    expect(described_class.new('urls' => 'x').warnings.first).to match(%r{unknown setting\(s\) urls})
  end
end
