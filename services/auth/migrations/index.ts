import type { Migration } from 'kysely'
import * as createUsers from './2026-11-25T0900_create_users.js'
import * as createRefreshTokens from './2026-11-25T0910_create_refresh_tokens.js'
import * as createSigningKeys from './2026-11-25T0920_create_signing_keys.js'
import * as signingKeyRotation from './2026-12-10T0900_signing_key_rotation.js'

/**
 * Applied in name order; a migration, once shipped, is never edited. The
 * files import nothing but kysely (not even service-kit's `Migrations`
 * type): test/migrations/frozen.test.ts checks it.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-25T0900_create_users': createUsers,
  '2026-11-25T0910_create_refresh_tokens': createRefreshTokens,
  '2026-11-25T0920_create_signing_keys': createSigningKeys,
  '2026-12-10T0900_signing_key_rotation': signingKeyRotation
}
