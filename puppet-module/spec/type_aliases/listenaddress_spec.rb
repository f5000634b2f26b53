# frozen_string_literal: true

require 'spec_helper'

# HOST:PORT as the broker's --listen takes it.
describe 'Exportfact::ListenAddress' do
  valid = [
    '0.0.0.0:8150',
    '127.0.0.1:8151',
    '[::]:8150',
    '[::1]:1',
    'broker.example.com:65535',
    'localhost:0',
  ]
  invalid = [
    '0.0.0.0',
    ':8150',
    '0.0.0.0:65536',
    '0.0.0.0:8150 ',
    '::1:8150',
    'http://0.0.0.0:8150',
    '0.0.0.0:-1',
  ]

  valid.each { |sample| it { is_expected.to allow_value(sample) } }
  invalid.each { |sample| it { is_expected.not_to allow_value(sample) } }
end
