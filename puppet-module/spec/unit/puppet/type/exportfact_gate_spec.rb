# frozen_string_literal: true

require 'spec_helper'

describe Puppet::Type.type(:exportfact_gate) do
  def gate(params = {})
    described_class.new({ title: 'role::keystone', open: false, requires: ['db.keystone_url', 'rabbitmq.host>=2'],
                          missing: ['db.keystone_url'] }.merge(params))
  end

  it 'holds what a gate needs and misses, each requirement in one shape' do
    g = gate(requires: ['db.keystone_url', 'rabbitmq.host >= 2', 'mq.rpc_backend>=1'], missing: ['db.keystone_url'])
    expect(g[:requires]).to eq(['db.keystone_url', 'rabbitmq.host>=2', 'mq.rpc_backend'])
    expect(g[:open]).to eq(:false)
    expect(g[:ensure]).to eq(:present)
  end

  it 'takes any printable ASCII name of 1 to 128 characters, as the broker does' do
    expect(gate(title: 'ready db.url, mq.host>=2 / 100% + more')[:name]).to eq('ready db.url, mq.host>=2 / 100% + more')
    expect(gate(title: 'x' * 128)[:name].length).to eq(128)
  end

  ['', 'x' * 129, "tab\there", 'rôle::keystone'].each do |bad|
    it "refuses the name #{bad.inspect[0, 30]}, naming the rule" do
      expect { gate(title: bad) }.to raise_error(Puppet::ResourceError, %r{must be 1 to 128 printable ASCII characters})
    end
  end

  ['db', 'db.url>=0', 'Db.url', 'db.url > 2', 'db.url.x'].each do |bad|
    it "refuses the requirement #{bad.inspect}" do
      expect { gate(requires: [bad], missing: [], open: true) }
        .to raise_error(Puppet::ResourceError, %r{requirement .* must be 'category.name'})
    end
  end

  it 'refuses a missing requirement the gate does not require' do
    expect { gate(missing: ['db.nova_url']) }.to raise_error(Puppet::ResourceError, %r{missing db\.nova_url not in requires})
  end

  it 'refuses open with something missing, and closed with nothing missing' do
    expect { gate(open: true) }.to raise_error(Puppet::ResourceError, %r{open must be false: missing is not empty})
    expect { gate(missing: []) }.to raise_error(Puppet::ResourceError, %r{open must be true: missing is empty})
  end

  it 'compares requirement lists without regard to order' do
    g = gate
    expect(g.property(:requires).insync?(['rabbitmq.host>=2', 'db.keystone_url'])).to be true
    expect(g.property(:requires).insync?(['db.keystone_url'])).to be false
    expect(g.property(:missing).insync?(:absent)).to be false
  end

  it 'holds an open gate with nothing missing (the catalog may leave out an empty list)' do
    g = described_class.new(title: 'role::keystone', open: true, requires: ['db.keystone_url'])
    expect(g.property(:missing).should).to eq([])
    expect(g.property(:missing).insync?([])).to be true
  end

  it 'says what changed in words' do
    g = gate
    expect(g.property(:ensure).change_to_s(:absent, :present)).to eq('reported waiting for db.keystone_url')
    expect(g.property(:open).change_to_s(:false, :true)).to eq('opened')
    expect(g.property(:open).change_to_s(:true, :false)).to eq('closed: waits for db.keystone_url')
  end

  it 'comes after exportfact.yaml, which exportfact::agent may write in the same run' do
    catalog = Puppet::Resource::Catalog.new
    config = Puppet::Type.type(:file).new(path: PuppetX::Exportfact::Config.default_path, ensure: :file)
    g = gate
    catalog.add_resource(config, g)
    expect(g.autorequire.map { |e| e.source.ref }).to eq([config.ref])
  end

  # What it sends, and when not: spec/unit/puppet/provider/exportfact_gate/broker_spec.rb.
end
