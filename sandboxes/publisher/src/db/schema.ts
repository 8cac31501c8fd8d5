import type { ColumnType, Generated, Kysely } from 'kysely'

/** What a credit request asks for, as compared between two calls with one request id. */
export interface CreditBody {
  player_id: string
  server: string | null
  amount: string
  order_id: string | null
}

export interface CreditCallsTable {
  request_id: string
  /** The body of the first call (jsonb; written as its JSON text). */
  body: ColumnType<CreditBody, string, never>
  calls: number
  first_call_at: ColumnType<Date, never, never>
  last_call_at: ColumnType<Date, never, Date>
}

export type OutcomeStatus = 'credited' | 'refused'

export interface CreditOutcomesTable {
  request_id: string
  status: OutcomeStatus
  /** Why a refused request was refused; null for a credit. */
  reason: string | null
  recorded_at: ColumnType<Date, never, never>
}

/** The ledger: one row per credit made. */
export interface CreditsTable {
  /** Insertion order: the ledger is read oldest first by it. */
  seq: ColumnType<string, never, never>
  credit_id: string
  request_id: string
  player_id: string
  server: string | null
  amount: string
  order_id: string | null
  credited_at: Generated<Date>
}

export interface Database {
  credit_calls: CreditCallsTable
  credit_outcomes: CreditOutcomesTable
  credits: CreditsTable
}

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}
