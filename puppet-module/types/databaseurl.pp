# @summary A PostgreSQL URL without a password, e.g. `postgres://exportfact@db.example.com:5432/exportfact`.
#
# The password of the broker's database user never goes through the catalog or the
# configuration file: it belongs in `~/.pgpass` of the broker's user (its home is the state
# folder) or in `PGPASSWORD`. So `user:password@` and a `password=` parameter are refused.
type Exportfact::DatabaseUrl = Pattern[/\A(?!.*[?&]password=)postgres(ql)?:\/\/([^\s\/@:"'\\]+@)?[^\s\/@"'\\]+(\/[^\s\/?#"'\\]*)?(\?[^\s#"'\\]*)?\z/]
