import { sql, type Selectable, type Transaction } from 'kysely'
import type { AnyOrderCreatedEvent, PaymentStatusChangedEvent } from '@topup/contracts'
import type { Database, OrderFactsTable, OrderStatus } from './schema.js'
import { recordUserOrder } from './top-users.js'

/**
 * The read model's write side. Two rules keep the per-day aggregates exact
 * whatever order, and however often, the events arrive:
 *
 * - An order counts in the aggregates only once its row is *complete* (it has
 *   the OrderCreated data: day, game, product, user, amount). Its contribution
 *   is added once, at the moment the row becomes complete, with the status the
 *   row has then (pending, or the payment result that arrived first).
 * - After that, only a status change of a complete row moves the aggregates:
 *   pending → success adds the order to the successful count and its amount
 *   to the revenue; pending → failed adds it to the failed count. Statuses
 *   only move forward, so this happens at most once.
 *
 * Every write first takes the order's row lock (insert-or-nothing, then
 * SELECT ... FOR UPDATE), so two events of the same order handled at the same
 * time by two consumers serialize on the row and neither delta is lost or
 * applied twice. Duplicated events never get here: the consumer's inbox skips
 * an event id it has already applied, in the same transaction.
 *
 * Day = the calendar date of the order's created_at in the business time zone
 * (read_model_settings, src/db/business-days.ts); a failed payment counts on
 * the day its order was created (so every figure of a day refers to the same
 * set of orders, and a day's numbers never change because of the day a payment
 * settled). The day is computed by PostgreSQL, from the zone stored beside the
 * aggregates, in the statement that first writes order_facts: a rebuild for
 * another zone holds a lock on order_facts, so an event either commits before
 * it (and is recomputed by it) or reads the new zone after it.
 */

export type ApplyOutcome = 'created' | 'completed' | 'updated' | 'unchanged'

interface CompleteOrder {
  day: string
  game_id: number
  game_name: string
  product_id: number
  product_name: string
  user_id: string
  user_email: string
  amount: string
  created_at: Date
}

/** The business day (YYYY-MM-DD) of a timestamptz column, in the zone the aggregates are keyed by. */
function businessDay (column: string) {
  return sql<string>`to_char(${sql.ref(column)} AT TIME ZONE (SELECT business_timezone FROM read_model_settings), 'YYYY-MM-DD')`
}

/**
 * Adds an order's contribution to the aggregates: `counted` says whether the
 * order itself is new there (orders +1 for its day, game/product and user) and
 * `status` which result counts with it.
 */
async function addToAggregates (trx: Transaction<Database>, order: CompleteOrder, delta: { counted: boolean, status: OrderStatus }): Promise<void> {
  const success = delta.status === 'success' ? 1 : 0
  const failed = delta.status === 'failed' ? 1 : 0
  const revenue = delta.status === 'success' ? order.amount : '0'
  if (!delta.counted) {
    // a status change of an order already counted: its aggregate row exists (same transaction or committed before our row lock)
    if (success + failed === 0) return
    const updated = await trx.updateTable('daily_game_product_stats')
      .set((eb) => ({
        success_orders: eb('success_orders', '+', success),
        failed_orders: eb('failed_orders', '+', failed),
        revenue: sql<string>`revenue + ${revenue}::numeric`
      }))
      .where('day', '=', order.day).where('game_id', '=', order.game_id).where('product_id', '=', order.product_id)
      .executeTakeFirst()
    if (updated.numUpdatedRows !== 1n) throw new Error(`no aggregate row for ${order.day}/${order.game_id}/${order.product_id}, which counts a complete order`)
    return
  }
  await trx.insertInto('daily_user_stats')
    .values({ day: order.day, user_id: order.user_id, user_email: order.user_email, email_as_of: order.created_at, orders: 1 })
    .onConflict((oc) => oc.columns(['day', 'user_id']).doUpdateSet((eb) => ({
      orders: sql<number>`${eb.ref('daily_user_stats.orders')} + 1`,
      ...newestWins('email_as_of', ['user_email'], 'daily_user_stats')
    })))
    .execute()
  // the most-active-users lists follow daily_user_stats in the same transaction
  await recordUserOrder(trx, order.user_id, order.day)
  // Last: every order of a product and day updates this one row, and its lock is held until commit, so
  // what comes after it serialises those events (the user lists before it doubled the time under that lock)
  await trx.insertInto('daily_game_product_stats')
    .values({
      day: order.day,
      game_id: order.game_id,
      product_id: order.product_id,
      game_name: order.game_name,
      product_name: order.product_name,
      names_as_of: order.created_at,
      orders: 1,
      success_orders: success,
      failed_orders: failed,
      revenue
    })
    .onConflict((oc) => oc.columns(['day', 'game_id', 'product_id']).doUpdateSet((eb) => ({
      orders: sql<number>`${eb.ref('daily_game_product_stats.orders')} + 1`,
      success_orders: sql<number>`${eb.ref('daily_game_product_stats.success_orders')} + ${eb.ref('excluded.success_orders')}`,
      failed_orders: sql<number>`${eb.ref('daily_game_product_stats.failed_orders')} + ${eb.ref('excluded.failed_orders')}`,
      revenue: sql<string>`${eb.ref('daily_game_product_stats.revenue')} + ${eb.ref('excluded.revenue')}`,
      // the names of the newest order (then the greater names) win: the same result in any delivery order
      ...newestWins('names_as_of', ['game_name', 'product_name'])
    })))
    .execute()
}

/**
 * SET clauses that take the incoming names only when they belong to a newer
 * order: compared as (as_of, names...) so that equal timestamps still give one
 * answer whatever the delivery order.
 */
function newestWins (asOf: string, columns: string[], table = 'daily_game_product_stats'): Record<string, ReturnType<typeof sql>> {
  const keys = [asOf, ...columns]
  const incoming = sql.join(keys.map((k) => sql`excluded.${sql.ref(k)}`))
  const current = sql.join(keys.map((k) => sql.ref(`${table}.${k}`)))
  const newer = sql`(${incoming}) > (${current})`
  const set: Record<string, ReturnType<typeof sql>> = {}
  for (const column of keys) {
    set[column] = sql`CASE WHEN ${newer} THEN excluded.${sql.ref(column)} ELSE ${sql.ref(`${table}.${column}`)} END`
  }
  return set
}

/**
 * The row an insert just found in its way, locked. The inserts do nothing on a
 * conflict with *any* unique index (order_id and transaction_id): a conflict
 * target of order_id alone lets two concurrent first events of one order race
 * past it and fail on transaction_id instead. A row that holds the transaction
 * under another order breaks the contract: an error, so the event is retried
 * and dead-lettered rather than dropped.
 */
async function lockExistingRow (trx: Transaction<Database>, orderId: string, transactionId: string): Promise<Selectable<OrderFactsTable> & { business_day: string | null }> {
  const row = await trx.selectFrom('order_facts').selectAll().select(businessDay('created_at').as('business_day'))
    .where('order_id', '=', orderId).forUpdate().executeTakeFirst()
  if (row !== undefined) return row
  throw new Error(`transaction ${transactionId} already belongs to another order than ${orderId}`)
}

/** OrderCreated: creates the complete row, or completes the partial row a payment result left. */
export async function applyOrderCreated (trx: Transaction<Database>, event: AnyOrderCreatedEvent): Promise<ApplyOutcome> {
  const data = event.data
  const createdAt = new Date(data.created_at)
  const fields = {
    transaction_id: data.transaction_id,
    user_id: data.user_id,
    user_email: data.user_email,
    game_id: data.game.id,
    game_code: data.game.code,
    game_name: data.game.name,
    product_id: data.product.id,
    product_name: data.product.name,
    amount: data.amount,
    currency: data.currency,
    created_at: createdAt
  }
  const order: Omit<CompleteOrder, 'day'> = {
    game_id: data.game.id,
    game_name: data.game.name,
    product_id: data.product.id,
    product_name: data.product.name,
    user_id: data.user_id,
    user_email: data.user_email,
    amount: data.amount,
    created_at: createdAt
  }
  const inserted = await trx.insertInto('order_facts')
    .values({ order_id: data.order_id, status: 'pending', ...fields })
    .onConflict((oc) => oc.doNothing())
    .returning(['order_id', businessDay('created_at').as('day')])
    .executeTakeFirst()
  if (inserted !== undefined) {
    await addToAggregates(trx, { ...order, day: inserted.day }, { counted: true, status: 'pending' })
    return 'created'
  }
  const row = await lockExistingRow(trx, data.order_id, data.transaction_id)
  // already complete: the same order announced again under another event id
  if (row.created_at !== null) return 'unchanged'
  // the payment result came first: keep its status, fill in the order, count it with that status
  const completed = await trx.updateTable('order_facts').set({ ...fields, updated_at: sql`now()` }).where('order_id', '=', data.order_id)
    .returning(businessDay('created_at').as('day')).executeTakeFirstOrThrow()
  await addToAggregates(trx, { ...order, day: completed.day }, { counted: true, status: row.status })
  return 'completed'
}

/** PaymentStatusChanged: forward only (pending → success | failed); the first result wins. */
export async function applyPaymentStatus (trx: Transaction<Database>, event: PaymentStatusChangedEvent): Promise<ApplyOutcome> {
  const data = event.data
  const settledAt = new Date(data.changed_at)
  const inserted = await trx.insertInto('order_facts')
    .values({
      order_id: data.order_id,
      transaction_id: data.transaction_id,
      amount: data.amount,
      currency: data.currency,
      status: data.status,
      settled_at: settledAt
    })
    .onConflict((oc) => oc.doNothing())
    .returning('order_id')
    .executeTakeFirst()
  // a partial row: it counts nowhere until its OrderCreated completes it
  if (inserted !== undefined) return 'created'
  const row = await lockExistingRow(trx, data.order_id, data.transaction_id)
  if (row.status !== 'pending') return 'unchanged'
  await trx.updateTable('order_facts')
    .set({ status: data.status, settled_at: settledAt, updated_at: sql`now()` })
    .where('order_id', '=', data.order_id)
    .execute()
  if (row.created_at === null) return 'updated'
  await addToAggregates(trx, completeOrder(row), { counted: false, status: data.status })
  return 'updated'
}

function completeOrder (row: { business_day: string | null, created_at: Date | null, game_id: number | null, game_name: string | null, product_id: number | null, product_name: string | null, user_id: string | null, user_email: string | null, amount: string | null }): CompleteOrder {
  const { business_day: day, created_at: createdAt, game_id: gameId, game_name: gameName, product_id: productId, product_name: productName, user_id: userId, user_email: userEmail, amount } = row
  if (day === null || createdAt === null || gameId === null || gameName === null || productId === null || productName === null || userId === null || userEmail === null || amount === null) {
    throw new Error('order_facts row is not complete')
  }
  return { day, game_id: gameId, game_name: gameName, product_id: productId, product_name: productName, user_id: userId, user_email: userEmail, amount, created_at: createdAt }
}
