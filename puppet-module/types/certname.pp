# @summary A Puppet certname as puppetserver issues them (lower case), safe as a file name.
type Exportfact::Certname = Pattern[/\A[a-z0-9][a-z0-9._-]{0,254}\z/]
