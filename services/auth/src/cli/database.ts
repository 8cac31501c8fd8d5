import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { ensureDatabase, migrateToLatest, redactUrl } from '@topup/service-kit'
import { migrations } from '../../migrations/index.js'
import { DEFAULT_DATABASE_URL } from '../config.js'
import type { Database } from '../db/schema.js'

/**
 * What auth's command-line tools share: auth's database (DATABASE_URL, else
 * the local topup_auth), created and migrated as auth does at start, handed
 * to `work` and closed after it. Resolves what went wrong, to print, or
 * undefined: `work`'s own answer, or a thrown error as `explain` words it
 * (else its message and the database, password hidden).
 */
export async function withAuthDatabase (
  work: (db: Kysely<Database>) => Promise<string | undefined>,
  explain: (err: unknown) => string | undefined = () => undefined
): Promise<string | undefined> {
  const url = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL
  let db: Kysely<Database> | undefined
  try {
    await ensureDatabase(url)
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
    await migrateToLatest(db as Kysely<unknown>, migrations)
    return await work(db)
  } catch (err) {
    return explain(err) ?? `${(err as Error).message} (database ${redactUrl(url)})`
  } finally {
    await db?.destroy()
  }
}
