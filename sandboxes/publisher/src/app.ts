import { buildService, openDatabase, type App, type BuildOptions } from '@topup/service-kit'
import { migrations } from '../migrations/index.js'
import type { PublisherSandboxConfig } from './config.js'
import type { Database } from './db/schema.js'
import credits from './routes/credits/index.js'
import ledgerRoutes from './routes/ledger/index.js'
import players from './routes/players/index.js'

/**
 * The game publisher a top-up shop credits in-game currency with, played by
 * a sandbox that misbehaves on purpose by player id (src/behaviour.ts), so
 * that every delivery path can be tried. Its own database; no broker.
 */
const publisherSandboxApp = async function publisherSandboxApp (app: App, { config }: { config: PublisherSandboxConfig }): Promise<void> {
  app.decorate('db', await openDatabase<Database>(app, { url: config.DATABASE_URL, migrations }))
  const closing = new AbortController()
  app.addHook('preClose', async () => { closing.abort() })
  await app.register(players)
  await app.register(credits, { slowMs: config.SLOW_MS, closing: closing.signal })
  await app.register(ledgerRoutes)
}

export default publisherSandboxApp

export const buildApp = async (config: PublisherSandboxConfig, options: BuildOptions = {}) => await buildService({
  service: 'publisher-sandbox',
  app: publisherSandboxApp,
  docs: {
    title: 'publisher-sandbox',
    description: 'A game publisher\'s player lookup and credit API, misbehaving on purpose by the player id\'s prefix (404, 503, 504, 202, 999)'
  }
}, config, {}, options)
