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

export interface SigningKeysTable {
  kid: string
  private_key_pem: string
  public_key_pem: string
  created_at: ColumnType<Date, never, never>
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
