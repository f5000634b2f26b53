# @summary A category or fact name as the broker accepts it: Facter-style, `^[a-z][a-z0-9_]*$`, at most 64 characters.
#
# The one statement of the name rule on the Puppet side (`PuppetX::Exportfact::Names` is the
# Ruby side); `Exportfact::Key` and `Exportfact::Requirement` spell it out again because a
# Puppet pattern cannot be built from another. spec/type_aliases checks that all agree.
type Exportfact::Name = Pattern[/\A[a-z][a-z0-9_]{0,63}\z/]
