# @summary One requirement of a gate (`Exportfact::Requirement`) or a list of them.
type Exportfact::Requirements = Variant[Exportfact::Requirement, Array[Exportfact::Requirement]]
