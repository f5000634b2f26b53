# frozen_string_literal: true

require 'spec_helper'
require 'json'
require 'semantic_puppet'
require 'puppet/module_tool'

describe 'metadata.json' do
  let(:metadata) { JSON.parse(File.read(File.join(ExportfactSpec::MODULE_ROOT, 'metadata.json'))) }

  it 'names the module owner-exportfact' do
    expect(metadata['name']).to match(%r{\A[a-z0-9]+[-/]exportfact\z})
  end

  it 'has a semantic version and the fields the Forge requires' do
    expect { SemanticPuppet::Version.parse(metadata['version']) }.not_to raise_error
    ['author', 'summary', 'license', 'source', 'dependencies'].each { |k| expect(metadata).to have_key(k) }
  end

  it 'supports the Puppet it is tested with' do
    req = metadata['requirements'].find { |r| r['name'] == 'puppet' }
    range = SemanticPuppet::VersionRange.parse(req['version_requirement'])
    expect(range).to include(SemanticPuppet::Version.parse(Puppet.version))
  end

  it 'is accepted by Puppet\'s module loader' do
    expect { Puppet::ModuleTool::Metadata.new.update(metadata) }.not_to raise_error
  end
end
