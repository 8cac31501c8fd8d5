/**
 * Applies a change of BUSINESS_TIMEZONE to the read model: recomputes every
 * per-day aggregate (and the top-user blocks) in the new zone's days from the
 * read model's own orders, in one transaction (src/db/business-days.ts).
 *
 *     BUSINESS_TIMEZONE=Asia/Kolkata npm run rebuild-days -w @topup/analytics
 *
 * Reads DATABASE_URL and BUSINESS_TIMEZONE like the service. The event
 * consumers of running instances wait while it runs and continue in the new
 * zone; restart every instance with the new BUSINESS_TIMEZONE afterwards (an
 * instance whose BUSINESS_TIMEZONE differs from the database's refuses to start).
 */
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { configOrExit } from '@topup/service-kit'
import { loadAnalyticsConfig } from '../config.js'
import { rebuildBusinessDays, storedTimeZone } from '../db/business-days.js'
import type { Database } from '../db/schema.js'

const config = configOrExit(() => loadAnalyticsConfig())
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: config.DATABASE_URL, max: 1 }) }) })
try {
  const before = await storedTimeZone(db)
  const started = Date.now()
  const { orders, days } = await rebuildBusinessDays(db, config.BUSINESS_TIMEZONE)
  process.stdout.write(`rebuild-days: ${orders} orders on ${days} days, now in ${config.BUSINESS_TIMEZONE} days (were ${before}), ${Date.now() - started} ms\n`)
} catch (err) {
  const message = (err as Error).message
  process.stderr.write(`rebuild-days: ${/read_model_settings/.test(message) ? 'the database is not migrated yet: start analytics once first' : message}\n`)
  process.exitCode = 1
} finally {
  await db.destroy()
}
