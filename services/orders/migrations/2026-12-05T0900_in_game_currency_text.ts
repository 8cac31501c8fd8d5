import { sql, type Kysely } from 'kysely'

/**
 * The product's in-game currency is text, as in the original system's
 * catalog (`TopUpProduct.in_game_currency`, a CharField: "500 UC"), so a
 * catalog carried over from it fits. Existing values keep their digits
 * (500 → "500"); the check that it was positive becomes "not blank".
 */
export async function up (db: Kysely<unknown>): Promise<void> {
  // the column check of the create migration, whatever name PostgreSQL gave it
  const { rows } = await sql<{ name: string }>`
    SELECT conname AS name FROM pg_constraint
    WHERE conrelid = 'products'::regclass AND contype = 'c' AND pg_get_constraintdef(oid) LIKE '%in_game_currency%'`.execute(db)
  for (const { name } of rows) await sql`ALTER TABLE products DROP CONSTRAINT ${sql.id(name)}`.execute(db)
  await sql`ALTER TABLE products ALTER COLUMN in_game_currency TYPE text USING in_game_currency::text`.execute(db)
  await sql`ALTER TABLE products ADD CONSTRAINT products_in_game_currency_not_blank CHECK (btrim(in_game_currency) <> '' AND length(in_game_currency) <= 100)`.execute(db)
  await sql`ALTER TABLE orders ALTER COLUMN in_game_currency TYPE text USING in_game_currency::text`.execute(db)
}

export async function down (db: Kysely<unknown>): Promise<void> {
  // only digits go back to an integer; anything else ("500 UC") keeps its leading number
  await sql`ALTER TABLE orders ALTER COLUMN in_game_currency TYPE integer USING coalesce(substring(in_game_currency from '\\d+'), '0')::integer`.execute(db)
  await sql`ALTER TABLE products DROP CONSTRAINT products_in_game_currency_not_blank`.execute(db)
  await sql`ALTER TABLE products ALTER COLUMN in_game_currency TYPE integer USING greatest(1, coalesce(substring(in_game_currency from '\\d+'), '1')::integer)`.execute(db)
  await sql`ALTER TABLE products ADD CHECK (in_game_currency > 0)`.execute(db)
}
