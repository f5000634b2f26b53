# @summary An address the broker listens on: `HOST:PORT`, an IPv6 host in brackets (`[::]:8150`).
type Exportfact::ListenAddress = Pattern[/\A(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*):([0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])\z/]
