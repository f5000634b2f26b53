# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/names'

# The Puppet alias and PuppetX::Exportfact::Names::GATE_NAME (which exportfact_gate checks)
# state the same rule: each sample is accepted by both or refused by both.
describe 'Exportfact::GateName' do
  samples = {
    'role::keystone' => true, 'ready db.url, mq.host>=2' => true, '~ !"#$%&/?' => true, 'x' * 128 => true,
    '' => false, 'x' * 129 => false, "role\tx" => false, "role\n" => false, 'rôle' => false, "\u0000" => false
  }
  valid = samples.select { |_, ok| ok }.keys

  valid.each { |sample| it { is_expected.to allow_value(sample) } }
  (samples.keys - valid).each { |sample| it { is_expected.not_to allow_value(sample) } }

  it 'judges each sample as Names::GATE_NAME does' do
    expect(samples.keys.select { |k| PuppetX::Exportfact::Names.gate_name?(k) }).to eq(valid)
  end
end
