# @summary An https:// URL, e.g. the Puppet CA's CRL endpoint.
type Exportfact::HttpsUrl = Pattern[/\Ahttps:\/\/[^\s\/"'\\]+(\/[^\s"'\\]*)?\z/]
