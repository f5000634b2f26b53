# frozen_string_literal: true

module PuppetX
  module Exportfact
    # Secrets a node holds, in files on the agent (see secrets.rb).
    module Secrets
      # A node-held secret file larger than this is refused (a wrong `source`, not a password).
      MAX_SOURCE_BYTES = 65_536

      # The text of a node-held secret file: at most 64 KiB, UTF-8, not empty; one trailing
      # newline dropped when chomp. Errors name the file, never its content.
      def self.read_source(path, chomp: true)
        raise ArgumentError, "source #{path} does not exist" unless File.exist?(path)
        raise ArgumentError, "source #{path} is not a file" unless File.file?(path)

        size = File.size(path)
        raise ArgumentError, "source #{path} is #{size} bytes, more than #{MAX_SOURCE_BYTES}: not a secret" if size > MAX_SOURCE_BYTES

        text = File.binread(path).force_encoding(Encoding::UTF_8)
        raise ArgumentError, "source #{path} is not UTF-8 text" unless text.valid_encoding?

        text = text.chomp if chomp
        raise ArgumentError, "source #{path} is empty" if text.empty?

        text
      rescue SystemCallError => e
        raise ArgumentError, "source #{path} cannot be read: #{e.class.name.split('::').last}"
      end
    end
  end
end
