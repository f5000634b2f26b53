# frozen_string_literal: true

require 'spec_helper'

# Paths written into the unit and exportfact.yaml: literal there (no word split, specifier or variable).
describe 'Exportfact::ServerPath' do
  valid = [
    '/etc/exportfact',
    '/var/lib/exportfact/keyring.json',
    '/opt/exportfact-1.0/bin/exportfact',
    '/srv/ef@2/x_y+z=1,2:3~',
  ]
  invalid = [
    'etc/exportfact',
    '/etc/export fact',
    '/var/lib/%n',
    '/var/lib/$STATE',
    '/etc/"x"',
    "/etc/x\n",
    '/etc/x;rm',
    '',
  ]

  valid.each { |sample| it { is_expected.to allow_value(sample) } }
  invalid.each { |sample| it { is_expected.not_to allow_value(sample) } }
end
