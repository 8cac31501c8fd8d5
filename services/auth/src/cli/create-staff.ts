/**
 * Creates a staff user, or promotes an existing one:
 *   npm run create-staff -- --username ops --email ops@example.com --password '...'
 * or with STAFF_USERNAME, STAFF_EMAIL, STAFF_PASSWORD in the environment.
 * Uses DATABASE_URL (default: the local topup_auth database), which it creates and migrates.
 * Prints one line; exits 0, or 1 with the reason.
 */
import { parseArgs } from 'node:util'
import { TakenError } from '../db/users.js'
import { ensureStaff, staffAccountProblems } from '../staff.js'
import { withAuthDatabase } from './database.js'

function fail (message: string): never {
  process.stderr.write(`create-staff: ${message}\n`)
  process.exit(1)
}

async function main (): Promise<void> {
  let values: { username?: string | undefined, email?: string | undefined, password?: string | undefined }
  try {
    ({ values } = parseArgs({
      options: { username: { type: 'string' }, email: { type: 'string' }, password: { type: 'string' } },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    fail(`${(err as Error).message} (usage: --username NAME --email ADDRESS --password SECRET)`)
  }
  const username = values.username ?? process.env.STAFF_USERNAME
  const email = values.email ?? process.env.STAFF_EMAIL
  const password = values.password ?? process.env.STAFF_PASSWORD
  if (username === undefined || email === undefined || password === undefined) {
    fail('needs --username, --email and --password (or STAFF_USERNAME, STAFF_EMAIL, STAFF_PASSWORD)')
  }
  const problems = staffAccountProblems({ username, email, password })
  if (problems.length > 0) fail(problems.join('; '))

  const error = await withAuthDatabase(async (db) => {
    const { outcome, id } = await ensureStaff(db, { username, email, password }, { promote: true })
    const said = { created: 'created staff user', promoted: 'promoted to staff', 'already-staff': 'already staff', exists: 'exists' }[outcome]
    process.stdout.write(`${said}: ${username} (${id})\n`)
    return undefined
  }, (err) => err instanceof TakenError ? `the ${err.field} ${err.field === 'email' ? email : username} belongs to another user` : undefined)
  if (error !== undefined) fail(error)
}

await main()
