# @summary An absolute path on the node (one line, no quote or backslash).
type Exportfact::AbsolutePath = Pattern[/\A\/[^\n"\\]*\z/]
