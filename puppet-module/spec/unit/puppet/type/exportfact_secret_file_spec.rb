# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:exportfact_secret_file) do
  def make(params = {})
    described_class.new({ path: '/etc/app/pw', secret: 'app.db_password' }.merge(params))
  end

  it 'takes the path as title, mode 0600 by default, and manages the content itself' do
    r = make
    expect(r[:path]).to eq('/etc/app/pw')
    expect(r.should(:mode)).to eq('0600')
    expect(r.should(:content)).to eq(:current)
    expect(r[:format]).to eq('%s')
  end

  it 'requires an absolute path' do
    expect { make(path: 'etc/pw') }.to raise_error(Puppet::Error, %r{must be absolute})
  end

  it "requires the secret as 'category.name'" do
    expect { described_class.new(path: '/etc/pw') }.to raise_error(Puppet::Error, %r{secret is required})
    expect { make(secret: 'nodot') }.to raise_error(Puppet::Error, %r{must be 'category.name'})
    expect { make(secret: 'App.pw') }.to raise_error(Puppet::Error, %r{must be 'category.name'})
  end

  it 'checks generate options' do
    expect(make(generate: { 'length' => 32, 'alphabet' => 'alnum' })[:generate]).to eq('length' => 32, 'alphabet' => 'alnum')
    expect(make(generate: true)[:generate]).to eq('length' => nil, 'alphabet' => nil)
    expect { make(generate: { 'length' => 4 }) }.to raise_error(Puppet::Error, %r{length must be an integer from 8 to 1024})
    expect { make(generate: { 'size' => 32 }) }.to raise_error(Puppet::Error, %r{unknown key\(s\) size})
    expect { make(generate: { 'alphabet' => 'aaaa' }) }.to raise_error(Puppet::Error, %r{2 distinct characters})
    expect { make(generate: 'yes') }.to raise_error(Puppet::Error, %r{must be a hash})
  end

  it 'pins versions, but not together with generate' do
    expect(make(version: '3')[:version]).to eq(3)
    expect { make(version: 0) }.to raise_error(Puppet::Error, %r{positive integer})
    expect { make(version: 2, generate: true) }.to raise_error(Puppet::Error, %r{cannot be combined})
  end

  it 'checks the format: one %s or %u, %% for a percent sign' do
    expect(make(format: "password=%u\n")[:format]).to eq("password=%u\n")
    expect { make(format: 'no placeholder') }.to raise_error(Puppet::Error, %r{0 placeholder\(s\) for 1})
    expect { make(format: '%s and %s') }.to raise_error(Puppet::Error, %r{2 placeholder\(s\) for 1})
    expect { make(format: '%d') }.to raise_error(Puppet::Error, %r{only %s, %u and %%})
  end

  it 'checks the mode and normalises it' do
    expect(make(mode: '440').should(:mode)).to eq('0440')
    expect { make(mode: 'rw') }.to raise_error(Puppet::Error, %r{must be octal})
  end

  it 'has no parameter that takes a value' do
    expect(described_class.validattr?(:value)).to be(false)
    expect { make(content: 'hunter2') }.to raise_error(Puppet::Error, %r{Invalid value "hunter2"})
  end

  it 'autorequires its directory, owner and group' do
    r = make(owner: 'app', group: 'app')
    catalog = Puppet::Resource::Catalog.new
    dir = Puppet::Type.type(:file).new(path: '/etc/app', ensure: :directory)
    user = Puppet::Type.type(:user).new(name: 'app')
    group = Puppet::Type.type(:group).new(name: 'app')
    [r, dir, user, group].each { |x| catalog.add_resource(x) }
    sources = r.autorequire.map { |e| e.source.ref }
    expect(sources).to contain_exactly('File[/etc/app]', 'User[app]', 'Group[app]')
  end
end
