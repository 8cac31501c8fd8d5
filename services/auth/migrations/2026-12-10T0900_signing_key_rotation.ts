import { sql, type Kysely } from 'kysely'

/**
 * Several signing keys (npm run rotate-key): a key is listed in the JWKS from
 * the moment it is added, signs new tokens from `signing_from` on (a little
 * later, so every auth instance lists it before any signs with it), and is
 * dropped from the JWKS when `removed_at` is set; its private key is wiped
 * then. A removed key of AUTH_PRIVATE_KEY (never stored) is a row with no key
 * material, so that every instance refuses it. Existing keys sign from when
 * they were made.
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('signing_keys')
    .addColumn('signing_from', 'timestamptz')
    .addColumn('removed_at', 'timestamptz')
    .execute()
  await sql`UPDATE signing_keys SET signing_from = created_at`.execute(db)
  await db.schema
    .alterTable('signing_keys')
    .alterColumn('signing_from', (c) => c.setNotNull())
    .alterColumn('signing_from', (c) => c.setDefault(sql`now()`))
    .alterColumn('private_key_pem', (c) => c.dropNotNull())
    .alterColumn('public_key_pem', (c) => c.dropNotNull())
    .execute()
  await sql`ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_material CHECK (removed_at IS NOT NULL OR (private_key_pem IS NOT NULL AND public_key_pem IS NOT NULL))`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  await sql`DELETE FROM signing_keys WHERE private_key_pem IS NULL OR public_key_pem IS NULL`.execute(db)
  await sql`ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_material`.execute(db)
  await db.schema
    .alterTable('signing_keys')
    .dropColumn('signing_from')
    .dropColumn('removed_at')
    .alterColumn('private_key_pem', (c) => c.setNotNull())
    .alterColumn('public_key_pem', (c) => c.setNotNull())
    .execute()
}
