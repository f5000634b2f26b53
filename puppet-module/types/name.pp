# @summary A Facter-style category or fact name, as the broker accepts it.
type Exportfact::Name = Pattern[/\A[a-z][a-z0-9_]{0,63}\z/]
