# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/names'

# The Puppet alias, PuppetX::Exportfact::Names::KEY and the secret functions' local type
# `Key` state the same rule: each sample is accepted by all or refused by all.
describe 'Exportfact::Key' do
  samples = {
    'db.url' => true, 'http_proxy.http_proxy_host' => true, "#{'a' * 64}.#{'b' * 64}" => true,
    'db' => false, 'db.' => false, '.url' => false, 'db.url.x' => false, 'db/url' => false,
    'Db.url' => false, 'db.Url' => false, "#{'a' * 65}.b" => false, 'db.url>=2' => false, "db.url\n" => false
  }
  valid = samples.select { |_, ok| ok }.keys

  valid.each { |sample| it { is_expected.to allow_value(sample) } }
  (samples.keys - valid).each { |sample| it { is_expected.not_to allow_value(sample) } }

  it 'judges each sample as Names::KEY does' do
    expect(samples.keys.grep(PuppetX::Exportfact::Names::KEY)).to eq(valid)
  end

  it 'judges each sample as the local type Key of the secret functions does' do
    local = PuppetX::Exportfact::Names::PUPPET_TYPES.find { |t| t.start_with?('Key = ') }.delete_prefix('Key = ')
    type = Puppet::Pops::Types::TypeParser.singleton.parse(local)
    expect(samples.keys.select { |k| type.instance?(k) }).to eq(valid)
  end
end
