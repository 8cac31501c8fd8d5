/**
 * Writes the schema fixture of every migration that has none yet:
 *
 *     TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import test/migrations/capture.ts [service...]
 *
 * (only the named services' migrations, e.g. `payments`; all without a name)
 *
 * Run it once, when a migration is added, and commit the new fixture with the
 * migration. It never overwrites a fixture: those record what each migration
 * built on the day it shipped, and frozen.test.ts holds today's files to them.
 * A fixture is never regenerated from a changed migration (delete one only
 * together with the migration it belongs to, before that ever shipped).
 */
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { createTestDatabase } from '@topup/service-kit/testing'
import { describeSchema, loadMigrations, migrateStepwise, SERVICES } from './schema.js'

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures')

// `npx tap test/migrations` runs every file in the folder: this is a tool, not
// a test, and writing a missing fixture while frozen.test.ts looks for it
// would let a new migration pass without one.
if (process.env.TAP === '1') {
  console.log('# capture.ts writes fixtures; run it with node (see its header), not tap')
  process.exit(0)
}

const named = process.argv.slice(2)
const unknown = named.filter((name) => !(SERVICES as readonly string[]).includes(name))
if (unknown.length > 0) {
  console.error(`no such service: ${unknown.join(', ')} (services: ${SERVICES.join(', ')})`)
  process.exit(1)
}
const cleanups: Array<() => unknown> = []
try {
  for (const service of SERVICES.filter((s) => named.length === 0 || named.includes(s))) {
    const url = await createTestDatabase({ teardown: (fn) => { cleanups.push(fn) } }, `capture_${service}`)
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
    try {
      await migrateStepwise(db, await loadMigrations(service), async (name) => {
        const file = join(FIXTURES, service, `${name}.schema.txt`)
        if (existsSync(file)) {
          console.log(`kept    ${file} (fixtures are never regenerated)`)
          return
        }
        await mkdir(dirname(file), { recursive: true })
        await writeFile(file, await describeSchema(db))
        console.log(`written ${file}`)
      })
    } finally {
      await db.destroy()
    }
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup()
}
