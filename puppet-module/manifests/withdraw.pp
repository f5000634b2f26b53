# @summary Withdraws at the end of the run what the catalog no longer declares; declared by the class `exportfact`.
#
# @api private
class exportfact::withdraw {
  exportfact_withdraw { 'exportfact':
    view_source => $facts.dig('exportfact_status', 'source').lest || { 'none' },
  }
}
