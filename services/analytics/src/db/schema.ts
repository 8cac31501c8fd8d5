import type { ColumnType, Generated, Kysely } from 'kysely'
import type { InboxDatabase } from '@topup/messaging'

export type OrderStatus = 'pending' | 'success' | 'failed'

/**
 * One row per order, denormalized from OrderCreated and PaymentStatusChanged.
 * Whichever event comes first creates the row: a payment result that beats its
 * OrderCreated leaves a *partial* row (created_at and the order's data null,
 * status set); the row is *complete* once created_at is set.
 */
export interface OrderFactsTable {
  order_id: string
  transaction_id: string
  user_id: string | null
  user_email: string | null
  game_id: number | null
  game_code: string | null
  game_name: string | null
  product_id: number | null
  product_name: string | null
  /** numeric(12,2), read as a decimal string */
  amount: string | null
  currency: string | null
  status: OrderStatus
  created_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  settled_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
  updated_at: Generated<ColumnType<Date, Date | string | undefined, Date | string>>
}

/** Per business day (of the order's created_at, in read_model_settings.business_timezone), game and product. */
export interface DailyGameProductStatsTable {
  day: ColumnType<string, string, string>
  game_id: number
  product_id: number
  game_name: string
  product_name: string
  /** created_at of the order the names were taken from: the newest order's names win, whatever the delivery order. */
  names_as_of: ColumnType<Date, Date | string, Date | string>
  orders: number
  success_orders: number
  failed_orders: number
  /** numeric(18,2): sum of the successful orders' amounts */
  revenue: string
}

/** Per business day and user: orders placed (any status). */
export interface DailyUserStatsTable {
  day: ColumnType<string, string, string>
  user_id: string
  user_email: string
  email_as_of: ColumnType<Date, Date | string, Date | string>
  orders: number
}

/**
 * "Most active users" without summing a range of daily_user_stats (which has
 * about one row per order): for every aligned block of 2^level days (level
 * 0..8, block = days since 1970-01-01 >> level), a short list of users with
 * their exact order count in that block, and its bound, a number no unlisted
 * user's count in the block exceeds. See src/db/top-users.ts.
 */
export interface TopUserListsTable {
  level: number
  block: number
  user_id: string
  /** the user's exact number of orders in the block */
  orders: number
}

/** Appended, never updated (no lock): a block's bound is the greatest of its rows. */
export interface TopUserBoundsTable {
  level: number
  block: number
  id: Generated<string>
  /** ≥ the order count, in the block, of every user with orders there who is not in its list */
  bound: number
}

/**
 * One row: the IANA time zone whose calendar days key every per-day aggregate
 * (src/db/business-days.ts). The writers read it in SQL, so an aggregate is
 * always keyed by the zone stored beside it, whatever an instance's own
 * BUSINESS_TIMEZONE says.
 */
export interface ReadModelSettingsTable {
  singleton: ColumnType<boolean, boolean | undefined, never>
  business_timezone: string
  days_rebuilt_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>
}

/** Every PaymentStatusChanged the read model applied (whether it moved the order or not): the support lookup's timeline. */
export interface OrderStatusChangesTable {
  id: Generated<string>
  order_id: string
  transaction_id: string
  kind: 'payment'
  status: string
  previous_status: string | null
  provider: string | null
  occurred_at: ColumnType<Date, Date | string, Date | string>
  /** null for the rows backfilled from order_facts by the migration */
  event_id: string | null
  /** false: a late, repeated or contradicting result that changed nothing */
  applied: boolean
  recorded_at: Generated<ColumnType<Date, Date | string | undefined, Date | string>>
}

/** The analytics database: the read model and the inbox it consumes into. */
export interface Database extends InboxDatabase {
  order_facts: OrderFactsTable
  daily_game_product_stats: DailyGameProductStatsTable
  daily_user_stats: DailyUserStatsTable
  top_user_lists: TopUserListsTable
  top_user_bounds: TopUserBoundsTable
  read_model_settings: ReadModelSettingsTable
  order_status_changes: OrderStatusChangesTable
}

// the service's database on the app (registered by @topup/service's infrastructure)
declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}
