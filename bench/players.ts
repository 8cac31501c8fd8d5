/**
 * Logged-in players (and the staff member) through the gateway, as real
 * clients get them: POST /api/register/ then POST /api/token/. Argon2 makes
 * each of those ~tens of ms of CPU, so they run a few at a time (p-limit).
 */
import pLimit from 'p-limit'
import type { Staff } from './system.js'

export interface Player { username: string, access: string }

const PLAYER_PASSWORD = 'Bench-Pl4yer-Passw0rd!'
const SETUP_CONCURRENCY = 4

async function post (url: string, body: unknown, expected: number): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(30_000) })
  const text = await res.text()
  if (res.status !== expected) throw new Error(`POST ${new URL(url).pathname} answered ${res.status} (expected ${expected}): ${text.slice(0, 300)}`)
  return JSON.parse(text) as unknown
}

export async function logIn (gatewayUrl: string, username: string, password: string): Promise<string> {
  const tokens = await post(`${gatewayUrl}/api/token/`, { username, password }, 200) as { access?: unknown }
  if (typeof tokens.access !== 'string') throw new Error(`POST /api/token/ for ${username} gave no access token`)
  return tokens.access
}

/** Registers `count` players named <runId>_p<n> and logs each in; `onProgress` after each. */
export async function createPlayers (gatewayUrl: string, runId: string, count: number, onProgress: (done: number) => void): Promise<Player[]> {
  const limit = pLimit(SETUP_CONCURRENCY)
  let done = 0
  return await Promise.all(Array.from({ length: count }, async (_, i) => await limit(async () => {
    const username = `${runId}_p${i + 1}`
    await post(`${gatewayUrl}/api/register/`, { username, email: `${username}@bench.test`, password: PLAYER_PASSWORD }, 201)
    const access = await logIn(gatewayUrl, username, PLAYER_PASSWORD)
    onProgress(++done)
    return { username, access }
  })))
}

/** The staff member auth created at start (STAFF_* settings), logged in. */
export async function staffToken (gatewayUrl: string, staff: Staff): Promise<string> {
  return await logIn(gatewayUrl, staff.username, staff.password)
}
