# frozen_string_literal: true

require_relative 'names'

module PuppetX
  module Exportfact
    # The behaviour of a property holding a gate's requirements (`exportfact_gate`'s
    # `requires` and `missing`): each entry `category.name` or `category.name>=k`, kept in
    # one shape, compared without regard to order. Included in the property class:
    #
    #     newproperty(:requires, array_matching: :all) { include PuppetX::Exportfact::RequirementList }
    module RequirementList
      def self.included(property)
        property.validate { |value| Names.requirement(value) }
        property.munge { |value| Names.requirement_text(*Names.requirement(value)) }
      end

      def insync?(is)
        return false unless is.is_a?(Array)

        is.sort == Array(should).sort
      end

      # The same words on Puppet 7 and 8 (whose defaults quote differently).
      def change_to_s(current, desired)
        "#{name} changed #{is_to_s(current)} to #{should_to_s(desired)}"
      end

      def should_to_s(value)
        "[#{Array(value).join(', ')}]"
      end

      def is_to_s(value)
        value.is_a?(Array) ? "[#{value.join(', ')}]" : value.to_s
      end
    end
  end
end
