# @summary The HTTPS URL of an exportfact broker, e.g. `https://broker.example.com:8150`.
type Exportfact::BrokerUrl = Pattern[/\Ahttps:\/\/[^\s\/"\\]+(\/[^\s"\\]*)?\z/]
