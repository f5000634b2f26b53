# frozen_string_literal: true

require 'spec_helper'

describe 'exportfact' do
  let(:facts) { { 'exportfact_status' => { 'source' => 'broker' } } }

  it { is_expected.to compile.with_all_deps }

  it 'withdraws in a stage after main' do
    expect(catalogue).to contain_stage('exportfact_withdraw').that_requires('Stage[main]')
    expect(catalogue).to contain_class('exportfact::withdraw').with_stage('exportfact_withdraw')
    expect(catalogue).to contain_exportfact_withdraw('exportfact').with_view_source('broker')
  end

  context 'when the view came from the cache' do
    let(:facts) { { 'exportfact_status' => { 'source' => 'cache' } } }

    it { is_expected.to contain_exportfact_withdraw('exportfact').with_view_source('cache') }
  end

  context 'without the fact at all' do
    let(:facts) { {} }

    it { is_expected.to contain_exportfact_withdraw('exportfact').with_view_source('none') }
  end

  context 'with withdraw => false and old categories' do
    let(:params) { { withdraw: false, old_categories: ['http_proxy'], old_factsdir: '/etc/facter/facts.d' } }

    it { is_expected.not_to contain_exportfact_withdraw('exportfact') }
    it { is_expected.to contain_file('/etc/facter/facts.d/http_proxy.txt').with_ensure('absent') }
  end
end
