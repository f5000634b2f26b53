# frozen_string_literal: true

module PuppetX
  module Exportfact
    # Names a top-level exportfact fact must not take: Facter's core and legacy facts, the
    # module's own facts, and variables Puppet sets.
    #
    # Facter 4 drops a core fact when a custom fact of the same name is loaded, whatever its
    # weight, so a top-level fact must never take a core fact's name; Facter has no public
    # way to list core facts without resolving them all, hence the lists below, taken from
    # Facter 4 (every OS; spec/unit/puppet_x/exportfact/fact_names_spec.rb fails when the
    # Facter it runs with knows one that is missing here). Other custom facts need no list: a top-level fact
    # resolves with weight -1, below any other resolution of its name.
    module FactNames
      RESERVED = %w[
        exportfact exportfact_secrets exportfact_status
        facts trusted server_facts settings environment clientcert clientversion clientnoop
        agent_specified_environment puppetversion implementation servername serverip serverversion
        title name module_name caller_module_name
      ].freeze

      # Root names of Facter 4's core facts (`os` for `os.family`) and plain legacy facts, as of
      # Facter 4.3 (Puppet 7, Debian 12) and 4.10 (Puppet 8, Debian 13).
      CORE = %w[
        aio_agent_version architecture augeas augeasversion az_metadata bios_release_date bios_vendor
        bios_version blockdevices boardassettag boardmanufacturer boardproductname boardserialnumber
        chassisassettag chassistype cloud dhcp_servers disks dmi domain ec2_metadata ec2_userdata
        facterversion filesystems fips_enabled fqdn gce gid hardwareisa hardwaremodel hostname hypervisors
        id identity interfaces ipaddress ipaddress6 is_virtual kernel kernelmajversion kernelrelease
        kernelversion ldom load_averages lsbdistcodename lsbdistdescription lsbdistid lsbdistrelease
        lsbmajdistrelease lsbminordistrelease lsbrelease macaddress macosx_buildversion macosx_productname
        macosx_productversion macosx_productversion_major macosx_productversion_minor
        macosx_productversion_patch manufacturer memory memoryfree memoryfree_mb memorysize memorysize_mb
        mountpoints netmask netmask6 network network6 networking nim_type operatingsystem
        operatingsystemmajrelease operatingsystemrelease os osfamily partitions path physicalprocessorcount
        processorcount processors productname productversion ruby rubyplatform rubysitedir rubyversion scope6 selinux
        selinux_config_mode selinux_config_policy selinux_current_mode selinux_enforced
        selinux_policyversion serialnumber solaris_zones ssh swapencrypted swapfree swapfree_mb swapsize
        swapsize_mb system32 system_profiler system_uptime timezone uptime uptime_days uptime_hours
        uptime_seconds uuid virtual windows_display_version windows_edition_id windows_installation_type
        windows_product_name windows_release_id xen xendomains zfs_featurenumbers zfs_version zonename
        zones zpool_featureflags zpool_featurenumbers zpool_version
      ].freeze

      # Legacy facts named after a device, a processor, a zone or a key type.
      CORE_PATTERNS = [
        %r{\A(?:blockdevice|ipaddress6?|ldom|macaddress|mtu|netmask6?|network6?|scope6|sp|sshfp|zone)_},
        %r{\Aprocessor\d+\z},
        %r{\Assh\w*key\z},
      ].freeze

      # @return [Array<String, Regexp>]
      def self.taken
        RESERVED + CORE + CORE_PATTERNS
      end

      def self.match?(taken, name)
        taken.any? { |t| t.is_a?(Regexp) ? t.match?(name) : t == name }
      end

      # Old-module files (<external dir>/<category>.txt) for these categories.
      # @return [Hash{String => String}] category => path
      def self.old_module_files(categories)
        dirs = external_dirs
        categories.each_with_object({}) do |cat, found|
          path = dirs.map { |dir| File.join(dir, "#{cat}.txt") }.find { |p| File.file?(p) }
          found[cat] = path if path
        end
      end

      # Facter's external fact directories (`Facter.search_external_path`), and the usual ones.
      def self.external_dirs
        dirs = Facter.respond_to?(:search_external_path) ? Array(Facter.search_external_path) : []
        (dirs + ['/etc/facter/facts.d', '/etc/puppetlabs/facter/facts.d']).compact.uniq
      end
    end
  end
end
