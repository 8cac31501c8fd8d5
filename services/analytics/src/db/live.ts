import { sql, type Transaction } from 'kysely'
import type { Database } from './schema.js'

/**
 * The read model tells its live dashboards what changed: the handlers call
 * `notifyChange` inside the event's transaction, and PostgreSQL delivers a
 * NOTIFY only at commit (and never for a rolled-back one), so a dashboard is
 * never told of a change it cannot read yet. Every analytics instance LISTENs
 * on its own database (src/plugins/live.ts), so whichever instance applied the
 * event, the streams of all of them hear it.
 */
export const LIVE_CHANNEL = 'topup_analytics_changes'

export interface ReadModelChange {
  /** which event moved the read model */
  kind: 'order' | 'payment'
  order_id: string
  transaction_id: string
  status: string
  /** false: a payment result that moved nothing (late, contradicting) but joined the order's timeline */
  applied: boolean
}

export async function notifyChange (trx: Transaction<Database>, change: ReadModelChange): Promise<void> {
  await sql`SELECT pg_notify(${LIVE_CHANNEL}, ${JSON.stringify(change)})`.execute(trx)
}
