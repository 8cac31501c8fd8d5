import { randomBytes } from 'node:crypto'
import argon2 from 'argon2'

/** OWASP's argon2id recommendation: 19 MiB, 2 iterations, 1 lane. */
export const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const

export const PASSWORD_MIN_LENGTH = 10
export const PASSWORD_MAX_LENGTH = 128

/** Passwords that meet the length and character-class rules yet are guessed first. */
const COMMON_PASSWORDS = new Set([
  'password1!', 'password12', 'password123', 'password1234', 'passw0rd123', 'p@ssw0rd123', 'p@ssword123',
  'qwerty1234', 'qwerty12345', 'qwerty123456', 'qwertyuiop1', '1q2w3e4r5t', '1q2w3e4r5t6y', '1qaz2wsx3edc',
  'zaq12wsxcde', 'abc1234567', 'abcdef1234', 'abcd123456', 'iloveyou123', 'letmein123', 'letmein1234',
  'welcome123', 'welcome1234', 'changeme123', 'admin12345', 'admin123456', 'administrator1', 'football123',
  'baseball123', 'princess123', 'sunshine123', 'trustno1234', 'monkey12345', 'dragon12345', 'master12345',
  'superman123', 'starwars123', 'whatever123', 'computer123', 'internet123', 'gaming12345', 'pubgmobile123',
  'freefire123', 'minecraft123', 'fortnite123', 'asdfghjkl1', 'asdf123456', 'zxcvbnm123', 'test123456'
])

function characterClasses (password: string): number {
  let classes = 0
  if (/[a-z]/.test(password)) classes++
  if (/[A-Z]/.test(password)) classes++
  if (/[0-9]/.test(password)) classes++
  if (/[^A-Za-z0-9]/.test(password)) classes++
  return classes
}

/** Why a password is too weak, or undefined when it is acceptable. */
export function passwordProblem (password: string, username: string): string | undefined {
  const length = [...password].length
  if (length < PASSWORD_MIN_LENGTH) return `must be at least ${PASSWORD_MIN_LENGTH} characters long`
  if (length > PASSWORD_MAX_LENGTH) return `must be at most ${PASSWORD_MAX_LENGTH} characters long`
  if (characterClasses(password) < 2) return 'must mix at least two kinds of characters (lower case, upper case, digits, symbols)'
  const lower = password.toLowerCase()
  if (username.length > 0 && lower.includes(username.toLowerCase())) return 'must not contain the username'
  if (COMMON_PASSWORDS.has(lower)) return 'is too common'
  return undefined
}

export async function hashPassword (password: string): Promise<string> {
  return await argon2.hash(password, ARGON2_OPTIONS)
}

let dummyHash: Promise<string> | undefined

/** A hash nobody knows the password of: verified against for unknown users, so timing does not tell. */
export async function dummyPasswordHash (): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64url'))
  return await dummyHash
}

export async function verifyPassword (hash: string, password: string): Promise<boolean> {
  try {
    return await argon2.verify(hash, password)
  } catch {
    return false
  }
}
