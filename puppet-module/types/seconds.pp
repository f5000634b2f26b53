# @summary A positive number of seconds (a timeout).
type Exportfact::Seconds = Variant[Integer[1], Float[0.001]]
