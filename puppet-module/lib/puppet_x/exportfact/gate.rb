# frozen_string_literal: true

module PuppetX
  module Exportfact
    # Pure logic behind exportfact::ready, exportfact::missing and exportfact::gate: which
    # requirements the node's exportfact facts meet. Reads facts only, never the broker.
    module Gate
      KEY_RE = %r{\A([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)(?:\s*>=\s*(\d+))?\z}.freeze

      # A requirement: `category.name` (present), `category.name>=k` or
      # {'fact' => 'category.name', 'min' => k} (at least k nodes export it).
      Requirement = Struct.new(:category, :name, :min) do
        def to_s
          min > 1 ? "#{category}.#{name}>=#{min}" : "#{category}.#{name}"
        end
      end

      def self.parse(req)
        case req
        when String
          m = KEY_RE.match(req.strip)
          raise ArgumentError, "exportfact: requirement #{req.inspect} is not 'category.name' or 'category.name>=k'" unless m
          Requirement.new(m[1], m[2], m[3] ? m[3].to_i : 1)
        when Hash
          key = req['fact']
          min = req.fetch('min', 1)
          raise ArgumentError, "exportfact: requirement #{req.inspect} needs 'fact' => 'category.name'" unless key.is_a?(String)
          raise ArgumentError, "exportfact: requirement #{req.inspect}: 'min' must be a positive integer" unless min.is_a?(Integer) && min >= 1
          r = parse(key)
          Requirement.new(r.category, r.name, min)
        else
          raise ArgumentError, "exportfact: requirement #{req.inspect} must be a string or a hash"
        end
      end

      # How many values of the fact this node sees (a single fact counts as 1).
      def self.count(facts, req)
        view = facts['exportfact'].is_a?(Hash) ? facts['exportfact'] : {}
        secrets = facts['exportfact_secrets'].is_a?(Hash) ? facts['exportfact_secrets'] : {}
        cat = view[req.category]
        value = cat.is_a?(Hash) ? cat[req.name] : nil
        if value.nil?
          scat = secrets[req.category]
          return scat.is_a?(Hash) && !scat[req.name].nil? ? 1 : 0
        end
        return value.reject { |_, v| v.nil? }.size if per_node?(facts, req, value)
        1
      end

      # A per-node value is {certname => value}. exportfact_status lists the per-node facts,
      # which tells them apart from a single fact whose value is a hash.
      def self.per_node?(facts, req, value)
        return false unless value.is_a?(Hash)
        status = facts['exportfact_status']
        list = status.is_a?(Hash) ? status['per_node'] : nil
        return list.include?("#{req.category}.#{req.name}") if list.is_a?(Array)
        true
      end

      # @return [Array<String>] what is missing, e.g. ["db.url (absent)", "mq.host (1 of 2 nodes)"]
      def self.missing(facts, requirements)
        (requirements.is_a?(Array) ? requirements.flatten : [requirements]).map { |r| parse(r) }.each_with_object([]) do |req, out|
          have = count(facts, req)
          next if have >= req.min
          out << if req.min == 1
                   "#{req.category}.#{req.name} (absent)"
                 else
                   "#{req.category}.#{req.name} (#{have} of #{req.min} nodes)"
                 end
        end
      end

      def self.ready?(facts, requirements)
        missing(facts, requirements).empty?
      end
    end
  end
end
