# frozen_string_literal: true

require 'spec_helper'

describe 'Exportfact::Requirements' do
  it { is_expected.to allow_value('db.url', { 'fact' => 'db.url' }, ['db.url', 'mq.host>=2', { 'fact' => 'x.y', 'min' => 3 }], []) }

  [['db.url', 'nope'], [['db.url']], 'nope'].each do |bad|
    it { is_expected.not_to allow_value(bad) }
  end
end
