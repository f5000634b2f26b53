# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'
require 'puppet_x/exportfact/trigger/settings'

describe PuppetX::Exportfact::Trigger::Settings do
  let(:dir) { Dir.mktmpdir('exportfact-trigger-settings') }
  let(:file) { File.join(dir, 'exportfact_trigger.yaml') }

  after { FileUtils.rm_rf(dir) }

  it 'defaults to the agent\'s one run, at most once a minute, a minute\'s watch' do
    s = described_class.load(file)
    expect([s.command, s.min_interval, s.wait]).to eq(['puppet agent --onetime --no-daemonize', 60, 60])
  end

  it 'takes the file, and the command line over it (numbers as the command line gives them)' do
    File.write(file, "command: puppet apply /srv/site.pp\nmin_interval: 30\nwait: 20\n")
    s = described_class.load(file, 'min_interval' => '5', 'wait' => nil)
    expect([s.command, s.min_interval, s.wait]).to eq(['puppet apply /srv/site.pp', 5, 20])
  end

  [
    [{ 'wait' => 301 }, %r{wait must be at most 300}],
    [{ 'wait' => 0 }, %r{wait must be a number of seconds, at least 1}],
    [{ 'min_interval' => 'soon' }, %r{min_interval must be a number}],
    [{ 'command' => ' ' }, %r{command must be a non-empty string}],
    [{ 'comand' => 'x' }, %r{unknown setting\(s\) comand}],
  ].each do |bad, message|
    it "refuses #{bad}, naming the setting" do
      expect { described_class.load(file, bad) }.to raise_error(ArgumentError, message)
    end
  end

  it 'refuses a file that is not a mapping' do
    File.write(file, "- a\n")
    expect { described_class.load(file) }.to raise_error(ArgumentError, %r{expected a mapping})
  end
end
