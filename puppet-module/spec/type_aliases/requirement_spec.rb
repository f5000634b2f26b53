# frozen_string_literal: true

require 'spec_helper'

# (allow_value with several values holds when all are allowed; its negation would hold when
# any one is refused, so refusals are checked one by one.)
describe 'Exportfact::Requirement' do
  it { is_expected.to allow_value('db.url', 'db.url>=2', 'db.url >= 12', 'mq.host>=1') }
  it { is_expected.to allow_value({ 'fact' => 'db.url' }, { 'fact' => 'mq.host', 'min' => 2 }) }

  ['db', 'db.url>=0', 'db.url>=', 'db.url>=x', 'db.url > 2', 'Db.url>=2', ' db.url', "db.url>=2\n",
   { 'fact' => 'db' }, { 'fact' => 'db.url', 'min' => 0 }, { 'fact' => 'db.url', 'max' => 2 }, {},
   ['db.url'], 1].each do |bad|
    it { is_expected.not_to allow_value(bad) }
  end
end
