# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/names'

# The Puppet aliases and PuppetX::Exportfact::Names state the same rule: each sample is
# accepted by both or refused by both.
NAME_SAMPLES = {
  'db' => true, 'http_proxy' => true, 'a1_' => true, 'a' * 64 => true,
  'a' * 65 => false, 'Db' => false, '1db' => false, '_db' => false, 'a-b' => false,
  'a.b' => false, '' => false, "db\n" => false, 'dB' => false
}.freeze

describe 'Exportfact::Name' do
  NAME_SAMPLES.each do |sample, valid|
    it "#{valid ? 'allows' : 'refuses'} #{sample.inspect}, as Names.name? does" do
      expect(PuppetX::Exportfact::Names.name?(sample)).to be(valid)
      valid ? is_expected.to(allow_value(sample)) : is_expected.not_to(allow_value(sample))
    end
  end

  [1, ['db'], { 'db' => 1 }].each do |bad|
    it { is_expected.not_to allow_value(bad) }
  end
end
