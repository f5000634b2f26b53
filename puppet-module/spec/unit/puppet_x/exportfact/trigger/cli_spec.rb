# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/trigger/cli'

describe PuppetX::Exportfact::Trigger::Cli do
  let(:dir) { Dir.mktmpdir('exportfact-trigger-cli') }

  before { Puppet[:confdir] = dir }
  after { FileUtils.rm_rf(dir) }

  it 'takes its options, the settings file and Puppet\'s confdir' do
    options = described_class.parse(['--confdir', '/etc/p', '--config', '/etc/t.yaml', '--command', 'puppet agent -t',
                                     '--min-interval', '5', '--wait', '30'])
    expect(options).to eq(confdir: '/etc/p', config: '/etc/t.yaml',
                          overrides: { 'command' => 'puppet agent -t', 'min_interval' => '5', 'wait' => '30' })
  end

  [
    [['--bogus'], %r{invalid option: --bogus}],
    [['stray'], %r{unexpected argument stray}],
    [['--wait', '500'], %r{wait must be at most 300}],
    [['--min-interval', 'soon'], %r{min_interval must be a number}],
  ].each do |argv, message|
    it "ends with exit code 2 and one line naming the mistake for #{argv.join(' ')}" do
      expect { expect(described_class.main(argv)).to eq(2) }.to output(message).to_stderr
    end
  end

  it 'refuses exportfact.yaml as the agent would (a bad url), with exit code 2' do
    File.write(File.join(dir, 'exportfact.yaml'), "url: http://broker:8150\n")
    expect { expect(described_class.main([])).to eq(2) }.to output(%r{must start with https://}).to_stderr
  end
end
