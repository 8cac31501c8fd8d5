import type { ColumnType, Generated, Kysely } from 'kysely'

export interface UsersTable {
  id: Generated<string>
  username: string
  /** stored lower-cased */
  email: string
  password_hash: string
  phone_number: string | null
  /** `date`: always selected as text (YYYY-MM-DD), see db/users.ts */
  date_of_birth: ColumnType<string | null, string | null | undefined, string | null>
  preferred_game: string | null
  is_staff: Generated<boolean>
  created_at: ColumnType<Date, never, never>
  updated_at: ColumnType<Date, Date | undefined, Date>
}

export interface RefreshTokensTable {
  id: Generated<string>
  token_hash: string
  family_id: string
  user_id: string
  created_at: ColumnType<Date, never, never>
  expires_at: Date
  used_at: Date | null
  revoked_at: Date | null
}

/** See migrations/2026-12-10T0900_signing_key_rotation.ts and src/keyring.ts. */
export interface SigningKeysTable {
  kid: string
  /** null once removed (wiped), and for the removal mark of AUTH_PRIVATE_KEY's key */
  private_key_pem: string | null
  public_key_pem: string | null
  created_at: ColumnType<Date, never, never>
  /** new tokens are signed with the newest key whose signing_from has passed */
  signing_from: ColumnType<Date, Date | undefined, Date>
  /** set: not listed in the JWKS, its tokens refused */
  removed_at: Date | null
}

export interface Database {
  users: UsersTable
  refresh_tokens: RefreshTokensTable
  signing_keys: SigningKeysTable
}

// the service's database on the app (registered by src/app.ts)
declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<Database>
  }
}
