import type { ColumnType, Generated, Kysely } from 'kysely'
import type { InboxDatabase, OutboxDatabase } from '@topup/messaging'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

export type OrderStatus = 'pending' | 'success' | 'failed'

export interface GamesTable {
  id: Generated<number>
  name: string
  /** The game's code, e.g. "coc123" (`game_id` in the public API). */
  code: string
  is_active: Generated<boolean>
  created_at: Generated<Timestamp>
}

export interface ProductsTable {
  id: Generated<number>
  game_id: number
  name: string
  /** numeric(12,2), read as a decimal string */
  price: string
  /** What the product gives, as text ("500 UC"): the original system's CharField. */
  in_game_currency: string
  created_at: Generated<Timestamp>
}

export interface OrdersTable {
  id: string
  transaction_id: string
  user_id: string
  user_email: string
  game_id: number
  game_code: string
  game_name: string
  product_id: number
  product_name: string
  /** What the product gives, as text ("500 UC"): the original system's CharField. */
  in_game_currency: string
  amount: string
  currency: string
  status: OrderStatus
  created_at: ColumnType<Date, Date, Date>
  updated_at: ColumnType<Date, Date, Date>
}

export interface IdempotencyKeysTable {
  user_id: string
  key: string
  request_hash: string
  response_status: number | null
  response_body: ColumnType<unknown, string | null, string | null> | null
  created_at: Generated<Timestamp>
}

/** The orders database: its own tables, the outbox it publishes from and the inbox it consumes into. */
export interface Database extends OutboxDatabase, InboxDatabase {
  games: GamesTable
  products: ProductsTable
  orders: OrdersTable
  idempotency_keys: IdempotencyKeysTable
}

// the service's database on the app (registered by @topup/service's infrastructure)
declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}
