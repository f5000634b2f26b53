# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/names'

describe 'Exportfact::Key' do
  keys = {
    'db.url' => true, 'http_proxy.http_proxy_host' => true, "#{'a' * 64}.#{'b' * 64}" => true,
    'db' => false, 'db.' => false, '.url' => false, 'db.url.x' => false, 'db/url' => false,
    'Db.url' => false, 'db.Url' => false, "#{'a' * 65}.b" => false, 'db.url>=2' => false, "db.url\n" => false
  }
  keys.each do |sample, valid|
    it "#{valid ? 'allows' : 'refuses'} #{sample.inspect}, as Names::KEY does" do
      expect(PuppetX::Exportfact::Names::KEY.match?(sample)).to be(valid)
      valid ? is_expected.to(allow_value(sample)) : is_expected.not_to(allow_value(sample))
    end
  end

  it 'is what the secret functions accept on agents (their local type Key)' do
    local = PuppetX::Exportfact::Names::PUPPET_TYPES.find { |t| t.start_with?('Key = ') }.delete_prefix('Key = ')
    type = Puppet::Pops::Types::TypeParser.singleton.parse(local)
    expect(keys.keys.select { |k| type.instance?(k) }).to eq(keys.select { |_, v| v }.keys)
  end
end
