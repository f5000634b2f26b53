# @summary The broker's npm tarball (what `npm pack` makes): an absolute path on the node, or an https:// URL.
#
# No query string: a token in the URL would land in the catalog. Plain http:// is refused,
# because the package is installed as root.
type Exportfact::NpmTarball = Pattern[/\A(\/[^\s"'\\?#]*|https:\/\/[^\s\/"'\\?#]+\/[^\s"'\\?#]*)\.(tgz|tar\.gz)\z/]
