# frozen_string_literal: true

require 'spec_helper'
require 'tmpdir'
require 'puppet_x/exportfact/trigger/agent_state'

describe PuppetX::Exportfact::Trigger::AgentState do
  let(:dir) { Dir.mktmpdir('exportfact-agent-state') }
  let(:run_lock) { File.join(dir, 'agent_catalog_run.lock') }
  let(:disabled_lock) { File.join(dir, 'agent_disabled.lock') }
  let(:state) { described_class.new(run_lock: run_lock, disabled_lock: disabled_lock) }

  after { FileUtils.rm_rf(dir) }

  # A live process that looks like a Puppet run to Puppet::Util::Pidlock (ruby, "puppet" in its arguments).
  def with_process(*argv)
    pid = Process.spawn(*argv, out: File::NULL, err: File::NULL)
    yield pid
  ensure
    Process.kill('KILL', pid)
    Process.wait(pid)
  end

  it 'sees nothing on a quiet node' do
    expect([state.running?, state.disabled?, state.blocker]).to eq([false, false, nil])
  end

  it 'sees `puppet agent --disable` by its lock file' do
    File.write(disabled_lock, '{"disabled_message":"maintenance"}')
    expect(state.blocker).to eq("the agent is disabled (#{disabled_lock})")
  end

  it 'sees a run in progress while its process lives, as the agent does' do
    with_process('ruby', '-e', 'sleep 60', 'puppet', 'agent') do |pid|
      File.write(run_lock, pid.to_s)
      expect(state.running?).to be(true)
      expect(state.blocker).to eq("a Puppet run is in progress (#{run_lock})")
    end
  end

  it 'takes a lock left by a process that is gone as stale (and removes it, as the agent would)' do
    File.write(run_lock, '999999999')
    expect([state.running?, File.exist?(run_lock)]).to eq([false, false])
  end

  it 'takes a lock held by a live process that is not Puppet as stale, as the agent does (where `ps` is)' do
    skip 'no ps here (the Puppet 8 chroot)' unless system('ps -p 1 -o comm=', out: File::NULL, err: File::NULL)
    with_process('sleep', '60') do |pid|
      File.write(run_lock, pid.to_s)
      expect(state.running?).to be(false)
    end
  end

  it 'without `ps`, takes a lock held by a live process as a run, and one whose process is gone as none' do
    allow(Puppet::Util::Execution).to receive(:execute).and_raise(Puppet::ExecutionFailure, 'ps: not found')
    with_process('sleep', '60') do |pid|
      File.write(run_lock, pid.to_s)
      expect(state.running?).to be(true)
    end
    File.write(run_lock, '999999999')
    expect(state.running?).to be(false)
  end

  it 'defaults to the lock files of Puppet\'s settings' do
    Puppet[:vardir] = dir
    FileUtils.mkdir_p(File.dirname(Puppet[:agent_disabled_lockfile]))
    File.write(Puppet[:agent_disabled_lockfile], '{}')
    expect(described_class.new.disabled?).to be(true)
  end
end
