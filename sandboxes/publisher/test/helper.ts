import { createTestDatabase, LogCapture } from '@topup/service-kit/testing'
import type { App } from '@topup/service-kit'
import { buildApp } from '../src/app.js'
import { loadPublisherSandboxConfig, type PublisherSandboxConfig } from '../src/config.js'

export interface Tap {
  teardown: (fn: () => unknown) => void
  after: (fn: () => unknown) => void
}

export interface Built {
  app: App
  config: PublisherSandboxConfig
  logs: LogCapture
  databaseUrl: string
}

/**
 * The sandbox on a throwaway database (or on `databaseUrl`, to run several
 * sandboxes on one, or one after another), with its log lines captured;
 * closed when the test ends. SLOW_MS is short unless `env` says otherwise.
 */
export async function build (t: Tap, options: { env?: Record<string, string>, databaseUrl?: string } = {}): Promise<Built> {
  const databaseUrl = options.databaseUrl ?? await createTestDatabase(t, 'publisher_sandbox')
  const config = loadPublisherSandboxConfig({ NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, SLOW_MS: '300', ...options.env })
  const logs = new LogCapture()
  const app = await buildApp(config, { logStream: logs })
  t.after(async () => { await app.close() })
  await app.ready()
  return { app, config, logs, databaseUrl }
}

/** Listens on a free port of 127.0.0.1 (for calls with a real client and its timeout); the base URL. */
export async function listen (app: App): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  if (address === null || typeof address === 'string') throw new Error('the sandbox did not listen')
  return `http://127.0.0.1:${address.port}`
}

export interface CreditBody {
  request_id: string
  player_id: string
  amount: string
  server?: string
  order_id?: string
}

let counter = 0

/** A request id no other call of this test file uses. */
export function requestId (label = 'req'): string {
  counter++
  return `${label}:${process.pid}:${Date.now().toString(36)}:${counter}`
}

/** A valid credit request for `playerId`, with a fresh request id. */
export function creditBody (playerId: string, overrides: Partial<CreditBody> = {}): CreditBody {
  return { request_id: requestId(), player_id: playerId, amount: '500 UC', server: 'asia-1', order_id: `order-${counter}`, ...overrides }
}

export async function credit (app: App, body: unknown): Promise<{ statusCode: number, body: Record<string, unknown>, headers: Record<string, unknown> }> {
  const res = await app.inject({ method: 'POST', url: '/v1/credits', payload: body as Record<string, unknown> })
  return { statusCode: res.statusCode, body: res.json(), headers: res.headers }
}

export async function status (app: App, id: string): Promise<{ statusCode: number, body: Record<string, unknown> }> {
  const res = await app.inject({ method: 'GET', url: `/v1/credits/${encodeURIComponent(id)}` })
  return { statusCode: res.statusCode, body: res.json() }
}

export interface LedgerEntry { credit_id: string, request_id: string, player_id: string, server: string | null, amount: string, order_id: string | null, credited_at: string }

export async function ledger (app: App, playerId?: string): Promise<LedgerEntry[]> {
  const res = await app.inject({ method: 'GET', url: '/v1/ledger', ...(playerId === undefined ? {} : { query: { player_id: playerId } }) })
  if (res.statusCode !== 200) throw new Error(`ledger: ${res.statusCode} ${res.body}`)
  return (res.json() as { credits: LedgerEntry[] }).credits
}

/** Log lines at error or worse (a client that left must cause none). */
export function errorLines (logs: LogCapture): Array<Record<string, unknown>> {
  return logs.entries().filter((e) => typeof e.level === 'number' && e.level >= 50)
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
