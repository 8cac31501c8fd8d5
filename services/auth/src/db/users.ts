import { sql, type Kysely, type Transaction } from 'kysely'
import type { Database } from './schema.js'

type Db = Kysely<Database> | Transaction<Database>

export interface Profile {
  username: string
  email: string
  phone_number: string | null
  date_of_birth: string | null
  preferred_game: string | null
}

export interface UserCredentials {
  id: string
  username: string
  email: string
  password_hash: string
  is_staff: boolean
}

export interface NewUser {
  username: string
  email: string
  passwordHash: string
  phone_number?: string | null
  date_of_birth?: string | null
  preferred_game?: string | null
  isStaff?: boolean
}

export type UniqueField = 'username' | 'email'

/** A unique index was violated: which field is taken. */
export class TakenError extends Error {
  constructor (readonly field: UniqueField) {
    super(`${field} is taken`)
    this.name = 'TakenError'
  }
}

function takenField (err: unknown): UniqueField | undefined {
  const e = err as { code?: string, constraint?: string }
  if (e.code !== '23505') return undefined
  if (e.constraint === 'users_username_lower_key') return 'username'
  if (e.constraint === 'users_email_lower_key') return 'email'
  return undefined
}

/** Emails are compared and stored lower-cased. */
export function normalizeEmail (email: string): string {
  return email.trim().toLowerCase()
}

/** Inserts a user; throws TakenError when the username or email (any case) exists. */
export async function insertUser (db: Db, user: NewUser): Promise<{ id: string, username: string, email: string }> {
  try {
    return await db.insertInto('users').values({
      username: user.username,
      email: normalizeEmail(user.email),
      password_hash: user.passwordHash,
      phone_number: user.phone_number ?? null,
      date_of_birth: user.date_of_birth ?? null,
      preferred_game: user.preferred_game ?? null,
      is_staff: user.isStaff ?? false
    }).returning(['id', 'username', 'email']).executeTakeFirstOrThrow()
  } catch (err) {
    const field = takenField(err)
    if (field !== undefined) throw new TakenError(field)
    throw err
  }
}

export async function findCredentialsByUsername (db: Db, username: string): Promise<UserCredentials | undefined> {
  return await db.selectFrom('users')
    .select(['id', 'username', 'email', 'password_hash', 'is_staff'])
    .where(sql<string>`lower(username)`, '=', username.toLowerCase())
    .executeTakeFirst()
}

export async function findUserById (db: Db, id: string): Promise<Omit<UserCredentials, 'password_hash'> | undefined> {
  return await db.selectFrom('users').select(['id', 'username', 'email', 'is_staff']).where('id', '=', id).executeTakeFirst()
}

const profileColumns = [
  'username', 'email', 'phone_number', 'preferred_game',
  sql<string | null>`to_char(date_of_birth, 'YYYY-MM-DD')`.as('date_of_birth')
] as const

export async function getProfile (db: Db, id: string): Promise<Profile | undefined> {
  return await db.selectFrom('users').select(profileColumns).where('id', '=', id).executeTakeFirst()
}

export interface ProfileChanges {
  email?: string
  phone_number?: string | null
  date_of_birth?: string | null
  preferred_game?: string | null
}

/** Applies the given changes (absent fields are left alone); throws TakenError for a taken email. */
export async function updateProfile (db: Db, id: string, changes: ProfileChanges): Promise<Profile | undefined> {
  const values: ProfileChanges = {}
  if (changes.email !== undefined) values.email = normalizeEmail(changes.email)
  if (changes.phone_number !== undefined) values.phone_number = changes.phone_number
  if (changes.date_of_birth !== undefined) values.date_of_birth = changes.date_of_birth
  if (changes.preferred_game !== undefined) values.preferred_game = changes.preferred_game
  if (Object.keys(values).length === 0) return await getProfile(db, id)
  try {
    return await db.updateTable('users')
      .set({ ...values, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .returning(profileColumns)
      .executeTakeFirst()
  } catch (err) {
    const field = takenField(err)
    if (field !== undefined) throw new TakenError(field)
    throw err
  }
}

export async function setStaff (db: Db, id: string, isStaff: boolean): Promise<void> {
  await db.updateTable('users').set({ is_staff: isStaff, updated_at: sql<Date>`now()` }).where('id', '=', id).execute()
}
