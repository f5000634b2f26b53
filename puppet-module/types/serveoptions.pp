# @summary More options of `exportfact serve` for `exportfact.yaml`, by their long names: `{'secret-grace' => 3600}`.
#
# A value is a number, a string (one line, no `"` or `\`) or a list of strings (for the
# options that may be repeated, like `audit-trust-key`). The broker refuses an unknown key
# when it starts (and `exportfact config check` before the file is written).
type Exportfact::ServeOptions = Hash[
  Pattern[/\A[a-z][a-z0-9]*(-[a-z0-9]+)*\z/],
  Variant[Integer, Pattern[/\A[^\n"\\]*\z/], Array[Pattern[/\A[^\n"\\]*\z/], 1]],
]
