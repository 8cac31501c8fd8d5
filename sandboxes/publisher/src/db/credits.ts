import { randomUUID } from 'node:crypto'
import { sql, type Kysely, type Selectable } from 'kysely'
import type { CreditBody, CreditsTable, Database } from './schema.js'

export type Credit = Selectable<CreditsTable>

/** What a request id came to: its credit, its refusal, or nothing yet. */
export type Outcome =
  | { status: 'credited', credit: Credit }
  | { status: 'refused', reason: string }

/**
 * Counts one call of `requestId` and returns which call it is (1 for the
 * first), or undefined when the id was first used with another body (nothing
 * counted: that call is a 409). One statement, committed on its own before
 * anything else is done, so a call is counted even when its client leaves or
 * the sandbox stops while answering, and two processes count together.
 */
export async function countCall (db: Kysely<Database>, requestId: string, body: CreditBody): Promise<number | undefined> {
  const row = await db.insertInto('credit_calls')
    .values({ request_id: requestId, body: JSON.stringify(body), calls: 1 })
    .onConflict((oc) => oc.column('request_id')
      .doUpdateSet({ calls: sql`credit_calls.calls + 1`, last_call_at: sql`now()` })
      // jsonb equality: the same fields and values, whatever their order
      .where(sql<boolean>`credit_calls.body = excluded.body`))
    .returning('calls')
    .executeTakeFirst()
  return row?.calls
}

/** How many calls a request id has had (0: never seen). */
export async function callsOf (db: Kysely<Database>, requestId: string): Promise<number> {
  const row = await db.selectFrom('credit_calls').select('calls').where('request_id', '=', requestId).executeTakeFirst()
  return row?.calls ?? 0
}

export async function findOutcome (db: Kysely<Database>, requestId: string): Promise<Outcome | undefined> {
  const outcome = await db.selectFrom('credit_outcomes').selectAll().where('request_id', '=', requestId).executeTakeFirst()
  if (outcome === undefined) return undefined
  if (outcome.status === 'refused') return { status: 'refused', reason: outcome.reason ?? '' }
  const credit = await db.selectFrom('credits').selectAll().where('request_id', '=', requestId).executeTakeFirstOrThrow()
  return { status: 'credited', credit }
}

/**
 * Records the outcome of a request id: a refusal, or the credit itself (its
 * ledger row and the outcome in one transaction, so a credit is never half
 * written). The outcome's primary key is the request id: of two concurrent
 * calls, the second waits for the first's transaction and records nothing.
 * Returns the outcome the request id has now, and whether this call made it.
 */
export async function recordOutcome (
  db: Kysely<Database>, requestId: string, body: CreditBody, decision: { status: 'credited' } | { status: 'refused', reason: string }
): Promise<{ outcome: Outcome, made: boolean }> {
  const made = await db.transaction().execute(async (trx) => {
    const claimed = await trx.insertInto('credit_outcomes')
      .values({ request_id: requestId, status: decision.status, reason: decision.status === 'refused' ? decision.reason : null })
      .onConflict((oc) => oc.column('request_id').doNothing())
      .returning('request_id')
      .executeTakeFirst()
    if (claimed === undefined) return false
    if (decision.status === 'credited') {
      await trx.insertInto('credits').values({
        credit_id: randomUUID(),
        request_id: requestId,
        player_id: body.player_id,
        server: body.server,
        amount: body.amount,
        order_id: body.order_id
      }).execute()
    }
    return true
  })
  const outcome = await findOutcome(db, requestId)
  if (outcome === undefined) throw new Error(`no outcome recorded for request id ${requestId}`)
  return { outcome, made }
}

/** Every credit made, oldest first; only one player's with `playerId`. */
export async function ledger (db: Kysely<Database>, playerId?: string): Promise<Credit[]> {
  let query = db.selectFrom('credits').selectAll().orderBy('seq')
  if (playerId !== undefined) query = query.where('player_id', '=', playerId)
  return await query.execute()
}
