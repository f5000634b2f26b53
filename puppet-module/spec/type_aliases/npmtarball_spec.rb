# frozen_string_literal: true

require 'spec_helper'

# What npm pack makes, on the node or behind https:// (installed by root: no http://, no token in a query).
describe 'Exportfact::NpmTarball' do
  valid = [
    '/srv/exportfact/exportfact-0.1.0.tgz',
    '/tmp/exportfact.tar.gz',
    'https://artifacts.example.com/npm/exportfact-0.1.0.tgz',
  ]
  invalid = [
    'exportfact-0.1.0.tgz',
    'http://artifacts.example.com/exportfact-0.1.0.tgz',
    'https://artifacts.example.com/exportfact-0.1.0.tgz?token=x',
    'https://artifacts.example.com/exportfact-0.1.0.zip',
    '/srv/my exportfact.tgz',
    'https://exportfact-0.1.0.tgz',
    'exportfact',
  ]

  valid.each { |sample| it { is_expected.to allow_value(sample) } }
  invalid.each { |sample| it { is_expected.not_to allow_value(sample) } }
end
