# frozen_string_literal: true

require 'spec_helper'

describe 'exportfact' do
  let(:facts) { { 'exportfact_status' => { 'source' => 'broker' } } }

  it { is_expected.to compile.with_all_deps }
  it 'withdraws in a stage after main' do
    is_expected.to contain_stage('exportfact_withdraw').that_requires('Stage[main]')
    is_expected.to contain_class('exportfact::withdraw').with_stage('exportfact_withdraw')
    is_expected.to contain_exportfact_withdraw('exportfact').with_view_source('broker')
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

describe 'exportfact::export', type: :define do
  let(:title) { 'http_proxy_host' }
  let(:params) { { value: 'alice.example.com', category: 'http_proxy' } }

  it { is_expected.to contain_exportfact_fact('http_proxy.http_proxy_host').with(value: 'alice.example.com', multi: false) }
  it { is_expected.to contain_file('/etc/facter/facts.d/http_proxy.txt').with_ensure('absent') }
  it { is_expected.to contain_class('exportfact') }

  context 'with a Sensitive value' do
    let(:params) { { value: sensitive('s3cret'), category: 'db' } }

    it { is_expected.to compile.and_raise_error(%r{refusing a Sensitive value}) }
  end

  context 'with a title that is not a fact name' do
    let(:title) { 'Not A Name' }

    it { is_expected.to compile.and_raise_error(%r{must match}) }
  end
end

describe 'exportfact::import', type: :define do
  let(:title) { 'http_proxy' }

  it { is_expected.to contain_file('/etc/facter/facts.d/http_proxy.txt').with_ensure('absent') }

  context 'next to an export of the same category' do
    let(:pre_condition) { "exportfact::export { 'http_proxy_host': value => 'a', category => 'http_proxy' }" }

    it { is_expected.to compile.with_all_deps }
  end
end
