# frozen_string_literal: true

require 'spec_helper'

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
