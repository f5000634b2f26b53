# frozen_string_literal: true

require 'spec_helper'

describe 'exportfact::import', type: :define do
  let(:title) { 'http_proxy' }

  it { is_expected.to contain_file('/etc/facter/facts.d/http_proxy.txt').with_ensure('absent') }

  context 'with an export of the same category' do
    let(:pre_condition) { "exportfact::export { 'http_proxy_host': value => 'a', category => 'http_proxy' }" }

    it { is_expected.to compile.with_all_deps }
  end
end
