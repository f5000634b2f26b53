# frozen_string_literal: true

require 'spec_helper'
require 'digest'

describe 'exportfact::gate_name' do
  it { is_expected.to run.with_params('role::keystone').and_return('role::keystone') }
  it { is_expected.to run.with_params('x' * 128).and_return('x' * 128) }

  context 'with a text too long' do
    let(:long) { "#{'a' * 120}-#{'b' * 20}" }

    it 'makes a name of its start and of the start of its SHA-256, so that cuts never collide' do
      is_expected.to run.with_params(long).and_return("#{'a' * 114} ##{Digest::SHA256.hexdigest(long)[0, 12]}")
    end
  end

  it 'makes a name of a text with characters outside printable ASCII' do
    is_expected.to run.with_params("rôle::web\tfront").and_return("r?le::web?front ##{Digest::SHA256.hexdigest("rôle::web\tfront")[0, 12]}")
  end

  it { is_expected.to run.with_params('').and_raise_error(ArgumentError, %r{expects a String\[1\] value}) }
end
