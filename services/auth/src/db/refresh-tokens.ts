import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>

/** Refresh tokens are opaque: 32 random bytes, base64url. Only their SHA-256 is stored. */
export function newRefreshToken (): string {
  return randomBytes(32).toString('base64url')
}

export function hashRefreshToken (token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex')
}

/** Stores a new refresh token (a new family unless one is given) and returns the token. */
export async function issueRefreshToken (db: Db, options: { userId: string, ttlDays: number, familyId?: string }): Promise<string> {
  const token = newRefreshToken()
  await db.insertInto('refresh_tokens').values({
    token_hash: hashRefreshToken(token),
    family_id: options.familyId ?? randomUUID(),
    user_id: options.userId,
    expires_at: sql<Date>`now() + make_interval(days => ${options.ttlDays})`
  }).execute()
  return token
}

export type RotationResult =
  | { ok: true, refresh: string, userId: string }
  | { ok: false, reason: 'unknown' | 'reused' | 'revoked' | 'expired' }

/**
 * Exchanges a refresh token for the next one of its family, in one
 * transaction holding a row lock on the presented token. A token presented a
 * second time (reuse, or a concurrent double use: the loser sees `used_at`
 * once the winner commits) revokes its whole family, and that revocation is
 * committed before the 401.
 */
export async function rotateRefreshToken (db: Kysely<Database>, token: string, ttlDays: number): Promise<RotationResult> {
  return await db.transaction().execute(async (trx): Promise<RotationResult> => {
    const row = await trx.selectFrom('refresh_tokens')
      .select(['id', 'family_id', 'user_id', 'used_at', 'revoked_at', sql<boolean>`expires_at <= now()`.as('expired')])
      .where('token_hash', '=', hashRefreshToken(token))
      .forUpdate()
      .executeTakeFirst()
    if (row === undefined) return { ok: false, reason: 'unknown' }
    if (row.used_at !== null || row.revoked_at !== null) {
      await revokeFamily(trx, row.family_id)
      return { ok: false, reason: row.used_at !== null ? 'reused' : 'revoked' }
    }
    if (row.expired) return { ok: false, reason: 'expired' }
    await trx.updateTable('refresh_tokens').set({ used_at: sql<Date>`now()` }).where('id', '=', row.id).execute()
    const refresh = await issueRefreshToken(trx, { userId: row.user_id, ttlDays, familyId: row.family_id })
    return { ok: true, refresh, userId: row.user_id }
  })
}

export async function revokeFamily (db: Db, familyId: string): Promise<number> {
  const result = await db.updateTable('refresh_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('family_id', '=', familyId)
    .where('revoked_at', 'is', null)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** Logout: revokes the family of the given token; false when the token is unknown. */
export async function revokeFamilyOf (db: Db, token: string): Promise<boolean> {
  const row = await db.selectFrom('refresh_tokens').select('family_id').where('token_hash', '=', hashRefreshToken(token)).executeTakeFirst()
  if (row === undefined) return false
  await revokeFamily(db, row.family_id)
  return true
}
