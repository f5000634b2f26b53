# @summary A fact addressed as `category.name`, each part an `Exportfact::Name`.
type Exportfact::Key = Pattern[/\A[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}\z/]
