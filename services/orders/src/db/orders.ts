import type { Insertable, Kysely, Selectable, Transaction } from 'kysely'
import type { Database, OrdersTable, OrderStatus } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>
export type OrderRow = Selectable<OrdersTable>

export type NewOrder = Insertable<OrdersTable>

export async function insertOrder (db: Db, order: NewOrder): Promise<void> {
  await db.insertInto('orders').values(order).execute()
}

export interface OrderCursor { createdAt: string, id: string }

export function encodeCursor (row: { created_at: Date, id: string }): string {
  return Buffer.from(JSON.stringify([row.created_at.toISOString(), row.id])).toString('base64url')
}

export function decodeCursor (cursor: string): OrderCursor | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    // exactly what encodeCursor writes: an ISO instant of a sane year, and a uuid
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' &&
      /^(19|20|21)\d{2}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(value[0]) && !Number.isNaN(Date.parse(value[0])) &&
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value[1])) {
      return { createdAt: value[0], id: value[1] }
    }
  } catch { /* fall through: not a cursor we made */ }
  return null
}

/** Newest first; `userId` limits to one user's orders (staff pass none). */
export async function listOrders (db: Db, options: { userId?: string, limit: number, after?: OrderCursor }): Promise<{ rows: OrderRow[], next: string | null }> {
  let query = db.selectFrom('orders').selectAll()
  if (options.userId !== undefined) query = query.where('user_id', '=', options.userId)
  if (options.after !== undefined) {
    const { createdAt, id } = options.after
    query = query.where((eb) => eb.or([
      eb('created_at', '<', new Date(createdAt)),
      eb.and([eb('created_at', '=', new Date(createdAt)), eb('id', '<', id)])
    ]))
  }
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(options.limit + 1).execute()
  const page = rows.slice(0, options.limit)
  const last = page[page.length - 1]
  return { rows: page, next: rows.length > options.limit && last !== undefined ? encodeCursor(last) : null }
}

export async function findOrder (db: Db, id: string): Promise<OrderRow | undefined> {
  return await db.selectFrom('orders').selectAll().where('id', '=', id).executeTakeFirst()
}

/**
 * Moves an order forward only: pending → success | failed. Returns what
 * happened so a late or repeated event changes nothing.
 */
export async function applyPaymentStatus (db: Db, transactionId: string, status: Exclude<OrderStatus, 'pending'>, at: Date): Promise<'applied' | 'unchanged' | 'missing'> {
  const updated = await db.updateTable('orders').set({ status, updated_at: at })
    .where('transaction_id', '=', transactionId).where('status', '=', 'pending')
    .executeTakeFirst()
  if (Number(updated.numUpdatedRows) > 0) return 'applied'
  const existing = await db.selectFrom('orders').select('status').where('transaction_id', '=', transactionId).executeTakeFirst()
  return existing === undefined ? 'missing' : 'unchanged'
}

/** An order's columns as the API and OrderCreated both show them: game and product nested. */
export function orderDetails (order: Omit<OrderRow, 'status' | 'created_at' | 'updated_at'>) {
  return {
    order_id: order.id,
    transaction_id: order.transaction_id,
    user_id: order.user_id,
    user_email: order.user_email,
    game: { id: order.game_id, code: order.game_code, name: order.game_name },
    product: { id: order.product_id, name: order.product_name, in_game_currency: order.in_game_currency },
    amount: order.amount,
    currency: order.currency
  }
}

export function orderView (row: OrderRow) {
  return {
    ...orderDetails(row),
    status: row.status,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString()
  }
}
