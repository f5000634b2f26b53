# @summary A gate's name as the broker takes it: 1 to 128 printable ASCII characters.
#
# `exportfact::gate_name` makes one of any text; `PuppetX::Exportfact::Names::GATE_NAME` is
# the Ruby side (spec/type_aliases checks that both agree).
type Exportfact::GateName = Pattern[/\A[ -~]{1,128}\z/]
