import type { Migrations } from '@topup/service-kit'
import * as createUsers from './2026-11-25T0900_create_users.js'
import * as createRefreshTokens from './2026-11-25T0910_create_refresh_tokens.js'
import * as createSigningKeys from './2026-11-25T0920_create_signing_keys.js'

export const migrations: Migrations = {
  '2026-11-25T0900_create_users': createUsers,
  '2026-11-25T0910_create_refresh_tokens': createRefreshTokens,
  '2026-11-25T0920_create_signing_keys': createSigningKeys
}
