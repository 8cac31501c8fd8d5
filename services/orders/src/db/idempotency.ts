import { createHash } from 'node:crypto'
import type { Kysely, Transaction } from 'kysely'
import type { Database } from './schema.js'

/** A stable digest of a request body: same content, same hash, whatever the key order. */
export function requestHash (body: unknown): string {
  const canonical = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(canonical)
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]))
    }
    return value
  }
  return createHash('sha256').update(JSON.stringify(canonical(body))).digest('hex')
}

export type Claim =
  | { kind: 'new' }
  | { kind: 'replay', status: number, body: unknown }
  | { kind: 'mismatch' }

/**
 * Claims an idempotency key inside the caller's transaction, with the
 * response this request will answer if it commits (known before any work:
 * the order's ids are made here, not by the database). A refused request
 * rolls the whole transaction back, key included, so only a 201 is ever
 * stored. A concurrent request with the same key waits on the row lock until
 * this transaction ends, then sees the stored response (or claims the key if
 * we rolled back).
 */
export async function claimKey (trx: Transaction<Database>, claim: { userId: string, key: string, hash: string, status: number, body: unknown }): Promise<Claim> {
  const inserted = await trx.insertInto('idempotency_keys')
    .values({ user_id: claim.userId, key: claim.key, request_hash: claim.hash, response_status: claim.status, response_body: JSON.stringify(claim.body) })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing()).returning('key').executeTakeFirst()
  if (inserted !== undefined) return { kind: 'new' }
  const existing = await trx.selectFrom('idempotency_keys').select(['request_hash', 'response_status', 'response_body'])
    .where('user_id', '=', claim.userId).where('key', '=', claim.key).executeTakeFirstOrThrow()
  if (existing.request_hash !== claim.hash) return { kind: 'mismatch' }
  return { kind: 'replay', status: existing.response_status ?? 201, body: existing.response_body }
}

/**
 * Whether this user's key already holds a stored response: a request with it
 * is a retry that creates nothing (the first response again, or a 422).
 */
export async function isAnsweredKey (db: Kysely<Database>, userId: string, key: string): Promise<boolean> {
  const row = await db.selectFrom('idempotency_keys').select('key')
    .where('user_id', '=', userId).where('key', '=', key).where('response_status', 'is not', null)
    .executeTakeFirst()
  return row !== undefined
}
