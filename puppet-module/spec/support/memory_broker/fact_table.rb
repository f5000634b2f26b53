# frozen_string_literal: true

class MemoryBroker
  # The plain facts of the fake broker: the view, this node's exports, publishing, withdrawal.
  #   facts: {'cat.name' => {'value' => v, 'version' => n, 'exporter' => certname}} (single)
  #          {'cat.name' => {'values' => {certname => v}, 'version' => n, 'multi' => true}} (per-node)
  module FactTable
    # What CERTNAME reads (GET /v1/facts).
    def view
      out = { 'environment' => 'production', 'facts' => {}, 'per_node' => {}, 'secrets' => {} }
      @facts.each do |key, fact|
        cat, name = key.split('.')
        fact['multi'] ? (out['per_node'][cat] ||= {})[name] = fact['values'] : (out['facts'][cat] ||= {})[name] = fact['value']
      end
      @secrets.each do |key, secret|
        (out['secrets'][key.split('.').first] ||= {})[key.split('.').last] = { 'version' => secret['version'] }
      end
      out
    end

    private

    def handle_view(req, res)
      body = view
      etag = %("#{Digest::SHA256.hexdigest(JSON.generate(body))[0, 16]}")
      return res.status = 304 if req['If-None-Match'] == etag

      FakeBroker.json(res, 200, body, 'ETag' => etag)
    end

    # The facts and secrets CERTNAME exports: [[key, multi, sensitive, version]].
    def mine
      plain = @facts.select { |_, f| f['multi'] ? f['values'].key?(CERTNAME) : f['exporter'] == CERTNAME }
                    .map { |key, f| [key, f['multi'] ? true : false, false, f['version']] }
      held = @secrets.reject { |_, s| s['generated'] }.map { |key, s| [key, s['multi'] ? true : false, true, s['version']] }
      plain + held
    end

    def handle_exports(res)
      exports = mine.map do |key, multi, sensitive, version|
        cat, name = key.split('.')
        { 'category' => cat, 'name' => name, 'multi' => multi, 'sensitive' => sensitive, 'version' => version }
      end
      FakeBroker.json(res, 200, 'exports' => exports)
    end

    def publish(key, body, res)
      refusal = refuse_publish(@facts[key], key, body)
      return MemoryBroker.error(res, 409, *refusal) if refusal

      fact = (@facts[key] ||= if body['multi']
                                { 'values' => {}, 'multi' => true,
                                  'version' => 0 }
                              else
                                { 'exporter' => CERTNAME, 'version' => 0 }
                              end)
      created = fact['version'].zero?
      store(fact, body['value']) if created || own_value(fact) != body['value']
      FakeBroker.json(res, created ? 201 : 200, 'version' => fact['version'])
    end

    # [code, message] when the broker refuses this node's publish, as docs/api.md says.
    def refuse_publish(fact, key, body)
      return nil if fact.nil?
      return ['fact_kind_conflict', "#{key} is published with the other kind"] if (fact['multi'] ? true : false) != body['multi']
      return ['fact_owned_by_other', "#{key} is exported by #{fact['exporter']}"] if !fact['multi'] && fact['exporter'] != CERTNAME

      nil
    end

    def own_value(fact)
      fact['multi'] ? fact['values'][CERTNAME] : fact['value']
    end

    def store(fact, value)
      fact['multi'] ? fact['values'][CERTNAME] = value : fact['value'] = value
      fact['version'] += 1
    end

    def withdraw(key)
      fact = @facts[key]
      return @secrets.delete(key) if fact.nil?
      return @facts.delete(key) unless fact['multi']

      gone = fact['values'].delete(CERTNAME)
      @facts.delete(key) if fact['values'].empty?
      gone
    end

    def prune(keep, res)
      kept = keep.map { |k| "#{k['category']}.#{k['name']}" }
      gone = mine.map(&:first).reject { |key| kept.include?(key) }
      gone.each { |key| withdraw(key) }
      FakeBroker.json(res, 200, 'withdrawn' => gone.map { |key| { 'category' => key.split('.').first, 'name' => key.split('.').last } })
    end
  end
end
