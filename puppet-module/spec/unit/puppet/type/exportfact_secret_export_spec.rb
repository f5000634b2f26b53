# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:exportfact_secret_export) do
  def make(title, params = {})
    described_class.new({ title: title }.merge(params))
  end

  it 'splits a category.name title and names the resource by it' do
    r = make('barbican.admin_token', source: '/var/lib/barbican/token')
    expect([r[:category], r[:fact], r.name]).to eq(['barbican', 'admin_token', 'barbican.admin_token'])
    expect(r[:chomp]).to be(true)
    expect(r[:multi]).to be(false)
  end

  it 'requires a source file on the agent, not a URL or a value' do
    expect { make('a.b') }.to raise_error(Puppet::Error, %r{source is required})
    expect { make('a.b', source: 'puppet:///modules/x/token') }.to raise_error(Puppet::Error, %r{absolute path on the agent})
    expect { make('a.b', source: 'hunter2') }.to raise_error(Puppet::Error, %r{absolute path on the agent})
    expect(described_class.validattr?(:value)).to be(false)
  end

  it 'needs no source to withdraw' do
    expect { make('a.b', ensure: :absent) }.not_to raise_error
  end

  it 'rejects names that are not Facter-style' do
    expect { make('x', category: 'Bad', source: '/x') }.to raise_error(Puppet::Error, %r{must match})
  end

  it 'autorequires the source file' do
    r = make('a.b', source: '/var/lib/a/token')
    catalog = Puppet::Resource::Catalog.new
    f = Puppet::Type.type(:file).new(path: '/var/lib/a/token', ensure: :file)
    [r, f].each { |x| catalog.add_resource(x) }
    expect(r.autorequire.map { |e| e.source.ref }).to eq(['File[/var/lib/a/token]'])
  end
end
