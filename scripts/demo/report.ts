/** The summary the demo ends with, on stdout. */
import type { Demo } from './context.js'
import { money, type Player } from './history.js'
import type { Range, Summary } from './catch-up.js'
import { PLAYER_PASSWORD } from './players.js'
import { formatSeconds } from './progress.js'

export function report (demo: Demo, { players, range, after, seconds, ordersSeconds }: {
  players: readonly Player[], range: Range, after: Summary | undefined, seconds: number, ordersSeconds: number
}): string {
  const { client, config, tally } = demo
  const { stats } = client
  const failedPlayers = players.filter((p) => p.session === undefined).length
  const newPlayers = players.filter((p) => p.isNew === true).length
  const currency = after?.currency ?? 'INR'
  const lines = [
    '',
    `Demo history ready in ${formatSeconds(seconds)}: orders placed and paid in ${formatSeconds(ordersSeconds)}, then ${formatSeconds(seconds - ordersSeconds)} until every service had caught up.`,
    `  requests  ${stats.requests} (${Math.round(stats.requests / seconds)} req/s); ${stats.webhook404} webhooks answered 404 (event still on its way) and were retried`,
    `  players   ${players.length - failedPlayers} (${newPlayers} new, ${players.length - newPlayers - failedPlayers} already there)`,
    `  orders    ${tally.placed} over ${config.days} days, ${range.start} … ${range.end} (${tally.created} new${tally.replayed > 0 ? `, ${tally.replayed} already placed by an earlier run with this seed today: another DEMO_SEED adds another history` : ''})`,
    `  payments  ${tally.outcome.success} success · ${tally.outcome.failed} failed · ${tally.outcome.pending} pending`,
    `  revenue   ${money(tally.revenueCents)} ${currency} from successful orders`
  ]
  if (stats.errors > 0) lines.push(`  errors    ${stats.errors} requests failed (first: ${client.errorSamples[0]})`)
  if (after !== undefined) {
    const t = after.totals
    lines.push(`  dashboard ${range.start} … ${range.end}: ${t.orders} orders, revenue ${t.revenue} ${after.currency}, success rate ${t.success_rate ?? '-'} % (analytics, all orders in the range)`)
  }
  lines.push(
    '',
    `Open ${config.gateway}/api/dashboard/ and sign in as staff` +
      (config.staff.username === undefined ? ' (start with STAFF_USERNAME/STAFF_EMAIL/STAFF_PASSWORD, or npm run create-staff).' : ` (${config.staff.username}).`),
    `Players log in as demo_player_001 … with the password ${PLAYER_PASSWORD}`
  )
  return `${lines.join('\n')}\n`
}
