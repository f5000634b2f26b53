# frozen_string_literal: true

require 'spec_helper'

# A PostgreSQL URL the broker may be given: never one with a password (it would be in the catalog and the file).
describe 'Exportfact::DatabaseUrl' do
  valid = [
    'postgres://exportfact@db.example.com:5432/exportfact',
    'postgresql://db.example.com/exportfact',
    'postgres://exportfact@[::1]:5432/ef',
    'postgres://exportfact@db.example.com/exportfact?sslmode=verify-full&application_name=broker',
    'postgres://exportfact@%2Frun%2Fpostgresql/exportfact',
  ]
  invalid = [
    'postgres://exportfact:s3cret@db.example.com/exportfact',
    'postgres://exportfact@db.example.com/exportfact?password=s3cret',
    'postgres://exportfact@db.example.com/exportfact?sslmode=require&password=s3cret',
    'mysql://db.example.com/exportfact',
    'postgres://db.example.com/export fact',
    "postgres://db.example.com/exportfact\n",
    'postgres://',
  ]

  valid.each { |sample| it { is_expected.to allow_value(sample) } }
  invalid.each { |sample| it { is_expected.not_to allow_value(sample) } }
end
