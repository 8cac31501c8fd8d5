import { sql, type Kysely, type Transaction } from 'kysely'
import type { PaymentStatusChangedEvent } from '@topup/contracts'
import type { Database, OrderStatus } from './schema.js'

/**
 * The support lookup: one order (by order id or transaction id) or a
 * customer's orders (by e-mail), each with its timeline, from analytics' own
 * tables only: order_facts and order_status_changes (every
 * PaymentStatusChanged applied, in the event's transaction).
 */

/** Orders a lookup by e-mail returns at most (newest first). */
export const LOOKUP_LIMIT = 20

/** Keeps the payment result in the order's timeline, whether it moved the order (`applied`) or not (late, repeated, contradicting). */
export async function recordStatusChange (trx: Transaction<Database>, event: PaymentStatusChangedEvent, applied: boolean): Promise<void> {
  const data = event.data
  await trx.insertInto('order_status_changes')
    .values({
      order_id: data.order_id,
      transaction_id: data.transaction_id,
      kind: 'payment',
      status: data.status,
      previous_status: data.previous_status,
      provider: data.provider,
      occurred_at: new Date(data.changed_at),
      event_id: event.id,
      applied
    })
    // the inbox already skips a repeated event id; this only keeps a replay from failing
    .onConflict((oc) => oc.column('event_id').doNothing())
    .execute()
}

export type LookupKey = { field: 'order_id' | 'transaction_id', value: string } | { field: 'email', value: string }

export interface TimelineEntry {
  at: string
  kind: 'created' | 'payment'
  status: string
  previous_status: string | null
  provider: string | null
  /** false: the result changed nothing (the order had a result already) */
  applied: boolean
}

export interface LookedUpOrder {
  order_id: string
  transaction_id: string
  user_id: string | null
  user_email: string | null
  game: { id: number, code: string | null, name: string } | null
  product: { id: number, name: string } | null
  amount: string | null
  currency: string | null
  status: OrderStatus
  created_at: string | null
  settled_at: string | null
  timeline: TimelineEntry[]
}

const iso = (d: Date | null): string | null => d === null ? null : d.toISOString()

export async function lookupOrders (db: Kysely<Database>, key: LookupKey): Promise<{ orders: LookedUpOrder[], more: boolean }> {
  return await db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
    let query = trx.selectFrom('order_facts').selectAll()
    query = key.field === 'email'
      // newest first, from the (user_email, created_at desc) index
      ? query.where('user_email', '=', key.value).orderBy('created_at', sql`desc nulls last`).orderBy('order_id').limit(LOOKUP_LIMIT + 1)
      : query.where(key.field, '=', key.value).limit(1)
    const rows = await query.execute()
    const more = rows.length > LOOKUP_LIMIT
    const found = rows.slice(0, LOOKUP_LIMIT)
    if (found.length === 0) return { orders: [], more: false }
    const changes = await trx.selectFrom('order_status_changes')
      .select(['order_id', 'status', 'previous_status', 'provider', 'occurred_at', 'applied'])
      .where('order_id', 'in', found.map((r) => r.order_id))
      .orderBy('occurred_at').orderBy('id')
      .execute()
    const byOrder = new Map<string, TimelineEntry[]>()
    for (const c of changes) {
      const list = byOrder.get(c.order_id) ?? []
      list.push({ at: c.occurred_at.toISOString(), kind: 'payment', status: c.status, previous_status: c.previous_status, provider: c.provider, applied: c.applied })
      byOrder.set(c.order_id, list)
    }
    const orders = found.map((r): LookedUpOrder => {
      const created: TimelineEntry[] = r.created_at === null ? [] : [{ at: r.created_at.toISOString(), kind: 'created', status: 'pending', previous_status: null, provider: null, applied: true }]
      // created first on a tie: a payment can be reported in the very millisecond of its order
      const timeline = [...created, ...(byOrder.get(r.order_id) ?? [])].sort((a, b) => a.at < b.at ? -1 : a.at > b.at ? 1 : (a.kind === 'created' ? -1 : b.kind === 'created' ? 1 : 0))
      return {
        order_id: r.order_id,
        transaction_id: r.transaction_id,
        user_id: r.user_id,
        user_email: r.user_email,
        game: r.game_id === null || r.game_name === null ? null : { id: r.game_id, code: r.game_code, name: r.game_name },
        product: r.product_id === null || r.product_name === null ? null : { id: r.product_id, name: r.product_name },
        amount: r.amount,
        currency: r.currency,
        status: r.status,
        created_at: iso(r.created_at),
        settled_at: iso(r.settled_at),
        timeline
      }
    })
    return { orders, more }
  })
}
