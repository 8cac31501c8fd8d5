import { createSign, generateKeyPairSync, type KeyObject } from 'node:crypto'
import { createTestDatabase, LogCapture } from '@topup/service-kit/testing'
import type { App } from '@topup/service-kit'
import { buildApp } from '../src/app.js'
import { loadAuthConfig, type AuthConfig } from '../src/config.js'

export interface Tap {
  teardown: (fn: () => unknown) => void
  after: (fn: () => unknown) => void
}

export interface Built {
  app: App
  config: AuthConfig
  logs: LogCapture
  databaseUrl: string
}

/**
 * The auth app on a throwaway database (or on `databaseUrl`, to share one
 * between apps), with its log lines captured; closed when the test ends.
 * Tests register many users from one address, so the registration limit is
 * raised unless `env` sets it (register-limit.test.ts does).
 */
export async function build (t: Tap, options: { env?: Record<string, string>, databaseUrl?: string, logs?: LogCapture } = {}): Promise<Built> {
  const databaseUrl = options.databaseUrl ?? await createTestDatabase(t, 'auth')
  const config = loadAuthConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, REGISTER_MAX_PER_IP: '10000', ...options.env })
  const logs = options.logs ?? new LogCapture()
  const app = await buildApp(config, { logStream: logs })
  t.after(async () => { await app.close() })
  await app.ready()
  return { app, config, logs, databaseUrl }
}

let counter = 0

/** A fresh, valid registration body. */
export function newUser (overrides: Record<string, unknown> = {}): { username: string, email: string, password: string } & Record<string, unknown> {
  counter++
  const id = `${Date.now().toString(36)}${counter}`
  return { username: `player_${id}`, email: `player_${id}@example.com`, password: `Tr0ub4dor&3-${id}`, ...overrides }
}

export async function register (app: App, body: Record<string, unknown>): Promise<{ id: string, username: string, email: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/register/', payload: body })
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`)
  return res.json()
}

export async function login (app: App, username: string, password: string, headers: Record<string, string> = {}): Promise<{ statusCode: number, body: Record<string, unknown>, headers: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: '/api/token/', payload: { username, password }, headers })
  return { statusCode: res.statusCode, body: res.json(), headers: res.headers }
}

/** Registers a new user and logs in: the body sent and the token pair. */
export async function registeredSession (app: App): Promise<{ user: ReturnType<typeof newUser>, id: string, access: string, refresh: string }> {
  const user = newUser()
  const { id } = await register(app, user)
  const res = await login(app, user.username, user.password)
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${JSON.stringify(res.body)}`)
  return { user, id, access: res.body.access as string, refresh: res.body.refresh as string }
}

export function decodeJwt (token: string): { header: Record<string, unknown>, payload: Record<string, unknown> } {
  const [header, payload] = token.split('.')
  return {
    header: JSON.parse(Buffer.from(header ?? '', 'base64url').toString('utf8')) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as Record<string, unknown>
  }
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** Builds a JWT by hand: ES256 with `key` (IEEE P1363 signature), or unsigned for alg none. */
export function craftJwt (header: Record<string, unknown>, payload: Record<string, unknown>, key?: KeyObject): string {
  const signingInput = `${b64(header)}.${b64(payload)}`
  if (key === undefined) return `${signingInput}.`
  const signature = createSign('SHA256').update(signingInput).sign({ key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
  return `${signingInput}.${signature}`
}

export function foreignKey (): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
}
