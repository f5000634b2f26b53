# @summary One requirement of a gate: `category.name`, `category.name>=k`, or `{fact => 'category.name', min => k}`.
type Exportfact::Requirement = Variant[
  Pattern[/\A[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*(\s*>=\s*[0-9]+)?\z/],
  Struct[{ fact => Pattern[/\A[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*\z/], Optional[min] => Integer[1] }],
]
