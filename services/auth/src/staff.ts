import type { Kysely } from 'kysely'
import { Value } from 'typebox/value'
import type { Database } from './db/schema.js'
import { findCredentialsByUsername, insertUser, normalizeEmail, setStaff, TakenError } from './db/users.js'
import { Email, Username } from './fields.js'
import { hashPassword, passwordProblem } from './passwords.js'

export interface StaffAccount {
  username: string
  email: string
  password: string
}

/** What is wrong with a staff account's fields (the same rules as registration), one line each. */
export function staffAccountProblems (account: StaffAccount): string[] {
  const problems: string[] = []
  if (!Value.Check(Username, account.username)) problems.push('username: must be 3-150 letters, digits or _ . @ + -')
  if (!Value.Check(Email, account.email)) problems.push('email: must be a valid email address')
  const weak = passwordProblem(account.password, account.username)
  if (weak !== undefined) problems.push(`password: ${weak}`)
  return problems
}

export type StaffOutcome = 'created' | 'promoted' | 'already-staff' | 'exists'

/**
 * Makes sure the staff account exists. A new user is created as staff; an
 * existing one (same username, any case) is promoted when `promote` is set
 * (the CLI) and left alone otherwise (the start-up bootstrap). Its password is
 * never changed. Throws TakenError when the email belongs to another user.
 */
export async function ensureStaff (db: Kysely<Database>, account: StaffAccount, options: { promote: boolean }): Promise<{ outcome: StaffOutcome, id: string }> {
  const existing = await findCredentialsByUsername(db, account.username)
  if (existing !== undefined) {
    if (existing.is_staff) return { outcome: 'already-staff', id: existing.id }
    if (!options.promote) return { outcome: 'exists', id: existing.id }
    await setStaff(db, existing.id, true)
    return { outcome: 'promoted', id: existing.id }
  }
  try {
    const user = await insertUser(db, {
      username: account.username, email: normalizeEmail(account.email), passwordHash: await hashPassword(account.password), isStaff: true
    })
    return { outcome: 'created', id: user.id }
  } catch (err) {
    // another instance created the same account at the same moment
    if (err instanceof TakenError && err.field === 'username') {
      const raced = await findCredentialsByUsername(db, account.username)
      if (raced !== undefined) return await ensureStaff(db, account, options)
    }
    throw err
  }
}
