# frozen_string_literal: true

module PuppetX
  module Exportfact
    # How a top-level fact stays below every other resolution of its name without Facter's
    # per-fact cost of weights <= 0.
    #
    # Facter 4 resolves a custom fact whose winning resolution has a weight <= 0 by also looking
    # for a core fact of that name (`Facter.core_value`: a new fact manager, facter.conf parsed
    # again), about 4 ms each: 0.8 s of CPU for 200 top-level facts. Names of core facts are never
    # taken (FactNames), so that look-up finds nothing; a weight of 1 skips it. Weight 1 would
    # rank above another custom fact of the same name without confines (weight 0), so the value
    # yields to any other suitable resolution of the name instead: Facter then takes the next
    # one. Where Facter's resolutions cannot be seen, the weight stays -1 (slow, never shadows).
    module TopLevel
      FAST = 1
      SAFE = -1

      # @param resolution [Facter::Util::Resolution] ours (self in a Facter.add block)
      def self.weight(resolution)
        resolutions(resolution) ? FAST : SAFE
      end

      # True when another suitable resolution of the fact exists: ours then gives no value.
      def self.yields?(resolution)
        others = resolutions(resolution)
        return false unless others && resolution.weight == FAST

        others.any? { |r| !r.equal?(resolution) && r.suitable? }
      end

      # The fact's resolutions (Facter keeps them in @resolves, with no reader), nil if unseen.
      def self.resolutions(resolution)
        fact = resolution.respond_to?(:fact) ? resolution.fact : nil
        list = fact&.instance_variable_get(:@resolves)
        list.is_a?(Array) && list.all? { |r| r.respond_to?(:suitable?) } ? list : nil
      end
    end
  end
end
