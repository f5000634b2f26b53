# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/names'

# The Puppet alias and PuppetX::Exportfact::Names state the same rule: each sample is
# accepted by both or refused by both.
describe 'Exportfact::Name' do
  samples = {
    'db' => true, 'http_proxy' => true, 'a1_' => true, 'a' * 64 => true,
    'a' * 65 => false, 'Db' => false, '1db' => false, '_db' => false, 'a-b' => false,
    'a.b' => false, '' => false, "db\n" => false, 'dB' => false
  }

  samples.select { |_, valid| valid }.each_key { |sample| it { is_expected.to allow_value(sample) } }
  samples.reject { |_, valid| valid }.each_key { |sample| it { is_expected.not_to allow_value(sample) } }
  [1, ['db'], { 'db' => 1 }].each { |other| it { is_expected.not_to allow_value(other) } }

  it 'judges each sample as Names.name? does' do
    expect(samples.keys.select { |s| PuppetX::Exportfact::Names.name?(s) }).to eq(samples.select { |_, valid| valid }.keys)
  end
end
