# @summary A system user or group name, e.g. `exportfact`.
type Exportfact::Account = Pattern[/\A[a-z_][a-z0-9_-]{0,31}\z/]
