# frozen_string_literal: true

require 'spec_helper'
require 'puppet_x/exportfact/trigger/client_source'

describe PuppetX::Exportfact::Trigger::ClientSource do
  let(:dir) { Dir.mktmpdir('exportfact-client-source') }
  let(:path) { File.join(dir, 'exportfact.yaml') }
  let(:built) { [] }
  let(:lines) { [] }
  let(:source) do
    client = Struct.new(:urls, :forgotten) do
      def gates
        [{ 'name' => urls.first }]
      end

      def forget_gates
        self.forgotten = (forgotten || 0) + 1
      end

      def close; end
    end
    described_class.new(path: path, wait: 60, log: ->(l) { lines << l },
                        build: ->(config) { client.new(config.urls).tap { |c| built << c } })
  end

  after { FileUtils.rm_rf(dir) }

  def write(text, mtime)
    File.write(path, text)
    File.utime(mtime, mtime, path)
  end

  it 'keeps one client while exportfact.yaml stays as it is, and makes a new one when it changes' do
    write("url: https://a:8150\n", Time.at(1_000))
    2.times { source.gates }
    write("url: https://b:8150\n", Time.at(2_000))
    expect(source.gates).to eq([{ 'name' => 'https://b:8150' }])
    expect(built.length).to eq(2)
    expect(lines).to eq(["#{path} changed: brokers https://b:8150"])
  end

  it 'goes on with the brokers it had when the changed file is wrong, saying so once' do
    write("url: https://a:8150\n", Time.at(1_000))
    source.gates
    write("url: http://a:8150\n", Time.at(2_000))
    2.times { expect(source.gates).to eq([{ 'name' => 'https://a:8150' }]) }
    expect(lines.length).to eq(1)
    expect(lines.first).to match(%r{must start with https://; going on with the brokers read before})
  end

  it 'reads the gates anew at each call and asks a broker that did not answer again (a run’s memories are not the trigger’s)' do
    write("url: https://a:8150\n", Time.at(1_000))
    PuppetX::Exportfact::Unanswered.record('https://a:8150', 'no answer within 5s')
    3.times { source.gates }
    expect(built.first.forgotten).to eq(3)
    expect(PuppetX::Exportfact::Unanswered.reason('https://a:8150')).to be_nil
  end
end
