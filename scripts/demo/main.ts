/**
 * `npm run demo`: fills a running system (`npm start`) with weeks of
 * realistic activity through the real pipeline, so a newcomer sees a living
 * dashboard (docs/demo.md).
 *
 * It behaves like the outside world and nothing else: players register, log
 * in and place top-up orders through the gateway (backdated with the
 * development-only X-Demo-Created-At header of orders), and a payment provider
 * settles each order with a signed webhook. Orders, payments and analytics
 * learn about it from their events (outbox → RabbitMQ), so every service
 * agrees afterwards. It never touches a database or the broker.
 *
 *   GATEWAY_URL             default http://127.0.0.1:8080
 *   GATEWAY_ADMIN_URL       default http://127.0.0.1:8081 (where the gateway's /ready answers)
 *   PAYMENT_WEBHOOK_SECRET  default: the payments service's development secret
 *   DEMO_PLAYERS            players (demo_player_001 …), default 300
 *   DEMO_DAYS               days of history up to today (UTC), default 60 (at most 365)
 *   DEMO_ORDERS             orders, default 3000
 *   DEMO_SEED               seed of the generator, default "topup-demo": same seed, same history
 *   DEMO_CONCURRENCY        requests in flight, default 32
 *   DEMO_STAFF_USERNAME / DEMO_STAFF_PASSWORD  (else STAFF_USERNAME / STAFF_PASSWORD):
 *                           optional staff login, used to add a catalog when there is none
 *                           and to wait for the dashboard's figures to catch up
 *
 * The same seed on the same day places the same orders with the same
 * Idempotency-Keys: running it again adds nothing (it replays and reports).
 * Another day or another DEMO_SEED adds another history on top.
 *
 * Run as `TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import
 * scripts/demo/main.ts` (the npm script does). It takes the webhook signature
 * and the development secret from the payments service's source, which needs
 * the libraries built (npm start builds them).
 */
import { ScriptError } from '../common/settings.js'
import { GatewayClient } from './client.js'
import { newTally } from './context.js'
import { Progress } from './progress.js'

async function main (): Promise<void> {
  // loaded here, not imported above: payments' source needs the built libraries, and saying so beats a stack
  const [{ readDemoConfig }, { run }] = await Promise.all([import('./config.js'), import('./run.js')]).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err
    throw new ScriptError(`${(err as Error).message}\nthe services are not built: run npm run build (or npm start) first`)
  })
  const config = readDemoConfig(process.env)
  const client = new GatewayClient(config.gateway, config.concurrency)
  const progress = new Progress(process.stderr, () => client.stats.requests)
  process.on('SIGINT', () => {
    progress.stop()
    process.stderr.write('demo: interrupted (running it again with the same seed today completes it without doubling anything)\n')
    process.exit(130)
  })
  try {
    process.stdout.write(await run({ config, client, progress, tally: newTally() }))
  } finally {
    // the progress line's last state stays above the message of a failure
    progress.stop()
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`\ndemo: ${err instanceof ScriptError ? err.message : (err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
