# frozen_string_literal: true

require 'spec_helper'

# More serve options: long names, values that stay one YAML scalar (or a list of them).
describe 'Exportfact::ServeOptions' do
  valid = [
    {},
    { 'secret-grace' => 3600 },
    { 'audit-trust-key' => ['/etc/exportfact/a.pub', '/etc/exportfact/b.pub'] },
    { 'audit-device' => '/var/log/ef.jsonl' },
  ]
  invalid = [
    { 'Secret-Grace' => 1 },
    { '--secret-grace' => 1 },
    { 'secret_grace' => 1 },
    { 'audit-device' => "/x\"\nkey: 1" },
    { 'audit-trust-key' => [] },
    { 'dev-ca' => true },
  ]

  valid.each { |sample| it { is_expected.to allow_value(sample) } }
  invalid.each { |sample| it { is_expected.not_to allow_value(sample) } }
end
