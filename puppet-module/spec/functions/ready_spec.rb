# frozen_string_literal: true

require 'spec_helper'
require_relative '../support/view_facts'

describe 'exportfact::ready' do
  let(:facts) { ExportfactSpec::VIEW_FACTS }

  it { is_expected.to run.with_params('db.keystone_url').and_return(true) }
  it { is_expected.to run.with_params(['db.keystone_url', 'rabbitmq.host']).and_return(true) }
  it { is_expected.to run.with_params(['db.keystone_url', 'db.nova_url']).and_return(false) }
  it { is_expected.to run.with_params('rabbitmq.host>=2').and_return(true) }
  it { is_expected.to run.with_params('rabbitmq.host>=3').and_return(false) }
  it { is_expected.to run.with_params('fact' => 'rabbitmq.host', 'min' => 2).and_return(true) }
  it { is_expected.to run.with_params('qpid.host').and_return(false) }
  it { is_expected.to run.with_params('db.password').and_return(true) }
  it('counts a single hash-valued fact once') { is_expected.to run.with_params('db.settings>=2').and_return(false) }

  # The signature (Exportfact::Requirements) refuses what is not a requirement, naming the parameter.
  bad_key = %r{parameter 'requirements' expects an Exportfact::Requirements}
  bad_min = %r{entry 'min' expects an Integer\[1\] value, got Integer\[0, 0\]}
  it { is_expected.to run.with_params('not a key').and_raise_error(ArgumentError, bad_key) }
  it { is_expected.to run.with_params('fact' => 'db.url', 'min' => 0).and_raise_error(ArgumentError, bad_min) }

  context 'without exportfact facts (first run, broker down, no cache)' do
    let(:facts) { { 'exportfact_status' => { 'source' => 'none' } } }

    it { is_expected.to run.with_params('db.keystone_url').and_return(false) }
    it { is_expected.to run.with_params([]).and_return(true) }
  end
end
