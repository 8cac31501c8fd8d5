import type { ColumnType, Generated, Kysely } from 'kysely'
import type { InboxDatabase, OutboxDatabase } from '@topup/messaging'
import type { MatchedSecret } from '../signature.js'

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>

export type PaymentStatus = 'pending' | 'success' | 'failed'

export interface TransactionsTable {
  transaction_id: string
  order_id: string
  user_id: string
  amount: string
  currency: string
  status: PaymentStatus
  provider: string
  /** The order's created_at (backdated in development). */
  created_at: ColumnType<Date, Date, Date>
  updated_at: ColumnType<Date, Date, Date>
  /** When payments recorded the pending transaction (database clock): the expiry sweep's age counts from here. */
  recorded_at: ColumnType<Date, Date | undefined, never>
  /** Why a failed transaction failed when the provider did not say so: `expired` (the sweep); null otherwise. */
  failure_reason: ColumnType<FailureReason | null, FailureReason | null | undefined, FailureReason | null>
  /** The correlation id of the OrderCreated that opened it (the top-up request's id); null for rows from before it was kept. */
  correlation_id: ColumnType<string | null, string | null | undefined, never>
}

/** A failure payments decided itself (the provider's own failures carry none). */
export type FailureReason = 'expired'

/** Which accepted webhook secret verified a call (docs/DESIGN.md §2.2, rotation); defined beside the signature check. */
export type { MatchedSecret }

/** Every webhook call, accepted or not: the audit trail. */
export interface WebhookCallsTable {
  id: Generated<string>
  received_at: Generated<Timestamp>
  request_id: string
  remote_address: string
  signature_valid: boolean
  transaction_id: string | null
  requested_status: string | null
  response_status: number
  outcome: string
  body: string
  /** Null when the signature did not verify. */
  matched_secret: ColumnType<MatchedSecret | null, MatchedSecret | null | undefined, MatchedSecret | null>
}

/** The payments database: transactions, the webhook audit, the outbox it publishes from and the inbox it consumes into. */
export interface Database extends OutboxDatabase, InboxDatabase {
  transactions: TransactionsTable
  webhook_calls: WebhookCallsTable
}

// the service's database on the app (registered by @topup/service's infrastructure)
declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}
