/** One run of the demo, start to summary (docs/demo.md: What it does). */
import { createHash } from 'node:crypto'
import pLimit from 'p-limit'
import { ScriptError } from '../common/settings.js'
import { waitForAnalytics, waitForOrders, summary } from './catch-up.js'
import type { Demo } from './context.js'
import { isoDay, planHistory, seededRandom, type Player } from './history.js'
import { runOrder } from './orders.js'
import { setUpPlayers } from './players.js'
import { report } from './report.js'
import { checkGateway, loadCatalog, staffLogin } from './system.js'

/** More failed requests than this share ends the run with exit 1. */
const MAX_ERROR_RATE = 0.01

/** Fills the system; resolves with the summary to print, rejects with a ScriptError when the demo cannot do its job. */
export async function run (demo: Demo): Promise<string> {
  const { config, client, progress, tally } = demo
  const started = Date.now()
  process.stderr.write(`demo: ${config.players} players, ${config.orders} orders over ${config.days} days, seed ${JSON.stringify(config.seed)}, through ${config.gateway}\n`)
  await checkGateway(demo)
  const staff = await staffLogin(demo)
  const games = await loadCatalog(demo, staff)
  const productCount = games.reduce((n, g) => n + g.products.length, 0)

  const { plan, players, firstDay, today } = planHistory({ random: seededRandom(config.seed), players: config.players, days: config.days, orders: config.orders, games, now: new Date() })
  // the same seed, sizes, day and catalog: the same Idempotency-Keys (running it again adds nothing)
  const catalogSignature = games.map((g) => `${g.id}:${g.game_id}:${g.products.map((p) => `${p.id}=${p.price}`).join(',')}`).join(';')
  const runId = createHash('sha256').update(JSON.stringify([config.seed, config.players, config.days, config.orders, isoDay(today), catalogSignature])).digest('hex').slice(0, 12)
  const range = { start: isoDay(firstDay), end: isoDay(today) }
  process.stderr.write(`demo: catalog of ${games.length} games, ${productCount} products; history ${range.start} … ${range.end}\n`)
  const before = staff === undefined ? undefined : await summary(demo, staff, range)

  // players are set up in the order they first buy, so orders can start while the rest log in
  const byFirstOrder = [...new Set<Player>([...plan.map((o) => o.player), ...players])]
  let playersDone = 0
  const playersSettled = setUpPlayers(demo, byFirstOrder, games, () => { playersDone++ })
  progress.start('orders', plan.length, () => `settled ${tally.settled} · players ${playersDone}/${players.length}`)
  const orders = pLimit(config.concurrency * 4)
  await Promise.all(plan.map((o) => orders(async () => { await runOrder(demo, o, runId) })))
  await playersSettled
  progress.stop()

  const { stats } = client
  if (stats.errors > stats.requests * MAX_ERROR_RATE) {
    throw new ScriptError(`${stats.errors} of ${stats.requests} requests failed (more than ${MAX_ERROR_RATE * 100} %). First errors:\n  ${client.errorSamples.join('\n  ')}`)
  }

  const ordersSeconds = (Date.now() - started) / 1000
  await waitForOrders(demo, plan)
  const after = staff === undefined || before === undefined ? undefined : await waitForAnalytics(demo, staff, range, before)
  return report(demo, { players, range, after, seconds: (Date.now() - started) / 1000, ordersSeconds })
}
