/**
 * Migrations are frozen in time: each builds today exactly what it built on
 * the day it shipped, and none imports live code (a library, service-kit, a
 * service's src/), whose later changes would silently rewrite history.
 *
 * The fixtures (fixtures/<service>/<migration>.schema.txt) were captured with
 * capture.ts from the migration files as they were at commit 08c60cb, when the
 * outbox and inbox still came from @topup/messaging; a new migration gets its
 * fixture from capture.ts once, when it is written. Never regenerate or edit
 * a fixture to match a changed migration: a difference here means the
 * migration changed, and the migration is what must go back.
 */
import { readdir, readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import ts from 'typescript'
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { migrateToLatest } from '@topup/service-kit'
import { createTestDatabase } from '@topup/service-kit/testing'
import { describeSchema, loadMigrations, migrateStepwise, SERVICES } from './schema.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const ROOT = join(HERE, '..', '..')
const FIXTURES = join(HERE, 'fixtures')

for (const service of SERVICES) {
  t.test(`${service}: every migration builds what it built when it shipped`, async (t) => {
    const migrations = await loadMigrations(service)
    const names = Object.keys(migrations).sort()
    const fixtures = (await readdir(join(FIXTURES, service))).filter((f) => f.endsWith('.schema.txt')).map((f) => f.replace(/\.schema\.txt$/, '')).sort()
    t.ok(names.length > 0, 'the service has migrations')
    t.same(names, fixtures, 'one fixture per migration (a new migration: write its fixture with test/migrations/capture.ts)')

    const url = await createTestDatabase(t, `frozen_${service}`)
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
    try {
      await migrateStepwise(db, migrations, async (name) => {
        const fixture = join(FIXTURES, service, `${name}.schema.txt`)
        if (!existsSync(fixture)) return // already failed above
        t.equal(await describeSchema(db), await readFile(fixture, 'utf8'), `the schema after ${name} is the one it built when it shipped`)
      })
      // the service's own migrator (what openDatabase runs) finds nothing left to apply
      t.same(await migrateToLatest(db, migrations), [], 'the steps reached the latest migration')
    } finally {
      await db.destroy()
    }
  })
}

/**
 * What a migration file imports besides kysely: every import, re-export,
 * dynamic import() and require() (TypeScript's own pre-processor finds them,
 * type-only ones included), and every triple-slash reference. index.ts may
 * import its sibling migration files and nothing else local.
 */
function foreignImports (file: string, text: string, siblings: readonly string[]): string[] {
  const info = ts.preProcessFile(text, true, true)
  const allowed = new Set(['kysely'])
  if (basename(file) === 'index.ts') for (const s of siblings) allowed.add(`./${s.replace(/\.ts$/, '.js')}`)
  return [
    ...info.importedFiles.map((f) => f.fileName).filter((name) => !allowed.has(name)),
    ...info.referencedFiles.map((f) => `/// <reference path="${f.fileName}" />`),
    ...info.typeReferenceDirectives.map((f) => `/// <reference types="${f.fileName}" />`),
    ...info.libReferenceDirectives.map((f) => `/// <reference lib="${f.fileName}" />`)
  ]
}

t.test('migrations import nothing but kysely', async (t) => {
  // the check itself catches what it is for
  t.same(foreignImports('x.ts', "import type { Kysely } from 'kysely'\nimport { createOutboxTable } from '@topup/messaging'\n", []), ['@topup/messaging'])
  t.same(foreignImports('x.ts', "import { sql } from 'kysely'\nexport { thing } from '../src/db/top-users.js'\nconst m = await import('@topup/contracts')\n", []), ['../src/db/top-users.js', '@topup/contracts'])
  t.same(foreignImports('x.ts', "import type { Migrations } from '@topup/service-kit'\nimport * as a from './a.js'\n", ['a.ts']), ['@topup/service-kit', './a.js'], 'only index.ts imports its siblings')
  t.same(foreignImports('index.ts', "import * as a from './a.js'\nimport * as b from '../b.js'\n", ['a.ts']), ['../b.js'])

  const services = (await readdir(join(ROOT, 'services'))).filter((s) => existsSync(join(ROOT, 'services', s, 'migrations'))).sort()
  t.same(services, [...SERVICES].sort(), 'every service with migrations has its schema fixtures checked above')
  for (const service of services) {
    const folder = join(ROOT, 'services', service, 'migrations')
    const files = (await readdir(folder, { recursive: true })).filter((f) => /\.[cm]?[jt]sx?$/.test(f)).sort()
    t.ok(files.includes('index.ts') && files.length > 1, `${service}: index.ts and its migrations are found`)
    const siblings = files.filter((f) => f !== 'index.ts' && !f.includes('/'))
    for (const file of files) {
      const text = await readFile(join(folder, file), 'utf8')
      t.same(foreignImports(file, text, siblings), [], `services/${service}/migrations/${file} imports nothing but kysely${file === 'index.ts' ? ' and its migrations' : ''}`)
    }
  }
})
