# @summary An absolute path the broker's unit and configuration file name: no spaces, quotes, `%` or `$`.
#
# These paths are written into the systemd unit (`ExecStart=`, `WorkingDirectory=`), where a
# space splits a word, `%` starts a specifier and `$` an environment variable, and into
# `exportfact.yaml`; this alias keeps them literal everywhere.
type Exportfact::ServerPath = Pattern[/\A\/[A-Za-z0-9._\/@+=:,~-]*\z/]
