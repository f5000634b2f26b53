# frozen_string_literal: true

require 'fileutils'

module PuppetX
  module Exportfact
    # Files the module writes on the agent (secret files, the view cache): written whole or
    # not at all, private from the first byte.
    module Files
      # Writes text to path atomically (a temporary file beside it, then rename), with the
      # mode set before any byte is written and owner/group set before the rename. No backup
      # of the old content is made anywhere.
      # @param mode [Integer] @param uid [Integer, nil] @param gid [Integer, nil]
      def self.write_atomically(path, text, mode:, uid: nil, gid: nil)
        dir = File.dirname(path)
        raise ArgumentError, "directory #{dir} does not exist" unless File.directory?(dir)

        tmp = File.join(dir, ".#{File.basename(path)}.exportfact-#{Process.pid}-#{rand(1 << 32).to_s(16)}")
        begin
          write_private(tmp, text)
          File.chown(uid, gid, tmp) if uid || gid
          File.chmod(mode, tmp)
          File.rename(tmp, path)
        ensure
          FileUtils.rm_f(tmp)
        end
      end

      # A new file, 0600 before anything is written, flushed to disk.
      def self.write_private(path, text)
        File.open(path, File::WRONLY | File::CREAT | File::EXCL, 0o600) do |f|
          f.chmod(0o600)
          f.write(text)
          f.flush
          f.fsync
        end
      end
    end
  end
end
