# frozen_string_literal: true

require 'spec_helper'

describe 'gating a role' do
  let(:pre_condition) do
    <<~PP
      class role_waiting {
        if exportfact::gate('role::nova_api', ['db.nova_url', 'rabbitmq.host>=2']) {
          file { '/etc/nova.conf': ensure => file }
        }
      }
      class role_ready {
        if exportfact::gate('role::keystone', ['db.keystone_url', 'rabbitmq.host>=2']) {
          file { '/etc/keystone.conf': ensure => file }
        }
      }
    PP
  end

  describe 'waiting' do
    let(:facts) { VIEW_FACTS }
    let(:title) { 'x' }

    context 'on a node that misses a requirement' do
      let(:node) { 'nova.example.test' }
      let(:pre_condition) { super() + "\ninclude role_waiting\n" }

      # rspec-puppet compiles a class; use a host catalogue instead
      subject { catalogue }
      let(:catalogue) { Puppet::Resource::Catalog.new }
    end
  end
end
