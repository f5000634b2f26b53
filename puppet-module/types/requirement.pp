# @summary One requirement of a gate: `category.name`, `category.name>=k`, or `{fact => 'category.name', min => k}`.
#
# `category.name` is met when the fact is there (a per-node fact: when at least one node
# exports it; a secret: when its version is listed); `>=k` and `min` ask for at least k nodes.
type Exportfact::Requirement = Variant[
  Exportfact::Key,
  Pattern[/\A[a-z][a-z0-9_]{0,63}\.[a-z][a-z0-9_]{0,63}\s*>=\s*[1-9][0-9]*\z/],
  Struct[{ fact => Exportfact::Key, Optional[min] => Integer[1] }],
]
