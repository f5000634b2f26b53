# frozen_string_literal: true

require 'puppet'
require 'puppet/parameter/boolean'
require_relative 'config'
require_relative 'names'

module PuppetX
  module Exportfact
    # What the types that publish a fact of this node share (`exportfact_fact`, and
    # `exportfact_secret_export` for secrets it holds): the address `category.name` in two
    # namevars, set by the title or by parameters. Included in the type:
    #
    #     include PuppetX::Exportfact::PublishedFact
    #     newparam(:category, namevar: true, parent: PuppetX::Exportfact::PublishedFact::NameParameter) { desc '...' }
    module PublishedFact
      # The types whose resources publish a fact of this node: the withdrawal keeps what they declare.
      TYPES = [:exportfact_fact, :exportfact_secret_export].freeze

      # A namevar holding a category or a fact name.
      class NameParameter < Puppet::Parameter
        validate do |value|
          Names.check_name!("#{resource.class.name}: #{name == :fact ? 'fact name' : name}", value)
        end
      end

      # Class methods of the types.
      module ClassMethods
        # `category.name` (or `category/name`) gives both namevars; any other title is the fact's name.
        def title_patterns
          [[Names::TITLE, [[:category], [:fact]]], [%r{(.*)}m, [[:fact]]]]
        end
      end

      def self.included(type)
        type.extend(ClassMethods)
      end

      # The category and name as the broker knows them.
      def key
        "#{self[:category]}.#{self[:fact]}"
      end

      # With two namevars Puppet has no single `name`; prefetch keys resources by it, so give
      # each resource its own (`category.name`).
      def name
        key
      end

      # exportfact.yaml, which the class exportfact::agent may write in the same run: to be
      # autorequired, so that publishing uses what it says.
      def config_files
        [Config.default_path]
      end

      # Raises unless the title or the parameters gave both halves of the address.
      def check_address!
        [[:category, 'category'], [:fact, 'fact']].each do |param, what|
          next if self[param]

          raise ArgumentError, "#{self.class.name}[#{title}]: #{what} is required (title 'category.name' or parameter #{param})"
        end
      end
    end
  end
end
