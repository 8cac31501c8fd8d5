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
 * Claims an idempotency key inside the caller's transaction. A concurrent
 * request with the same key waits on the row lock until this transaction
 * ends, then sees the stored response (or claims the key if we rolled back).
 */
export async function claimKey (trx: Transaction<Database>, userId: string, key: string, hash: string): Promise<Claim> {
  const inserted = await trx.insertInto('idempotency_keys').values({ user_id: userId, key, request_hash: hash, response_status: null, response_body: null })
    .onConflict((oc) => oc.columns(['user_id', 'key']).doNothing()).returning('key').executeTakeFirst()
  if (inserted !== undefined) return { kind: 'new' }
  const existing = await trx.selectFrom('idempotency_keys').select(['request_hash', 'response_status', 'response_body'])
    .where('user_id', '=', userId).where('key', '=', key).executeTakeFirstOrThrow()
  if (existing.request_hash !== hash) return { kind: 'mismatch' }
  return { kind: 'replay', status: existing.response_status ?? 201, body: existing.response_body }
}

export async function storeResponse (trx: Transaction<Database>, userId: string, key: string, status: number, body: unknown): Promise<void> {
  await trx.updateTable('idempotency_keys').set({ response_status: status, response_body: JSON.stringify(body) })
    .where('user_id', '=', userId).where('key', '=', key).execute()
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
