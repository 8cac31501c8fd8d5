/**
 * Test support: each test file gets its own throwaway database (and broker
 * names), so files run in parallel. PostgreSQL and RabbitMQ come from the
 * environment or the localhost defaults; only when neither answers does a
 * laptop with Docker fall back to testcontainers — and CI fails instead.
 */
import { randomBytes } from 'node:crypto'
import { createServer as createNetServer } from 'node:net'
import { Writable } from 'node:stream'
import pg from 'pg'
import type { Browser } from 'playwright-core'

export interface Teardown { teardown: (fn: () => unknown) => void }

const DEFAULT_PG = 'postgres://postgres@127.0.0.1:5432/postgres'
const DEFAULT_AMQP = 'amqp://guest:guest@127.0.0.1:5672'

export function uniqueName (prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`
}

async function pgAnswers (url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('SELECT 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => {})
  }
}

let adminUrl: Promise<string> | undefined

/** The URL of a database from which test databases can be created. */
export async function postgresAdminUrl (): Promise<string> {
  adminUrl ??= (async () => {
    const url = process.env.TEST_DATABASE_URL ?? DEFAULT_PG
    if (await pgAnswers(url)) return url
    if (process.env.CI !== undefined && process.env.CI !== '') {
      throw new Error(`PostgreSQL does not answer at ${url} (CI does not fall back to testcontainers)`)
    }
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const container = await new PostgreSqlContainer('postgres:16-alpine').withUsername('postgres').withPassword('postgres').start()
    process.once('exit', () => { void container.stop() })
    return container.getConnectionUri().replace(/\/[^/]*$/, '/postgres')
  })()
  return await adminUrl
}

/** Creates an empty database for this test file and drops it afterwards. */
export async function createTestDatabase (t: Teardown, prefix = 'test'): Promise<string> {
  const admin = await postgresAdminUrl()
  const name = uniqueName(prefix).toLowerCase()
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`)
  await client.end()
  t.teardown(async () => {
    const dropper = new pg.Client({ connectionString: admin })
    await dropper.connect()
    await dropper.query(`DROP DATABASE IF EXISTS ${dropper.escapeIdentifier(name)} WITH (FORCE)`)
    await dropper.end()
  })
  const url = new URL(admin)
  url.pathname = `/${name}`
  return url.toString()
}

let amqpUrl: Promise<string> | undefined

/** The RabbitMQ URL for tests (each test file uses its own exchange/queue prefix). */
export async function rabbitUrl (): Promise<string> {
  amqpUrl ??= (async () => {
    const url = process.env.TEST_AMQP_URL ?? DEFAULT_AMQP
    const { connect } = await import('node:net')
    const target = new URL(url)
    const answers = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: target.hostname, port: Number(target.port === '' ? 5672 : target.port) })
      socket.setTimeout(3000)
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => { resolve(false) })
      socket.once('timeout', () => { socket.destroy(); resolve(false) })
    })
    if (answers) return url
    if (process.env.CI !== undefined && process.env.CI !== '') {
      throw new Error(`RabbitMQ does not answer at ${url} (CI does not fall back to testcontainers)`)
    }
    const { RabbitMQContainer } = await import('@testcontainers/rabbitmq')
    const container = await new RabbitMQContainer('rabbitmq:3.13-alpine').start()
    process.once('exit', () => { void container.stop() })
    return container.getAmqpUrl()
  })()
  return await amqpUrl
}

/** Collects a service's log lines so tests can assert what is (not) logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write (chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''))
    callback()
  }

  get text (): string { return this.lines.join('\n') }

  entries (): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>)
  }
}

/**
 * A stand-in for the auth service's token side, for services tested on their
 * own: a real ES256 key, its JWKS served over HTTP, and tokens signed with it.
 */
/**
 * A port on 127.0.0.1 that was free a moment ago, chosen in [min, max) below
 * the kernel's ephemeral range (32768+): that range is where every `listen(0)`
 * and outgoing connection of the test files running alongside take their
 * ports, so a port from it can be taken before it is used. Callers that bind
 * it later still retry on EADDRINUSE; callers that want it closed get one no
 * other test listens on.
 */
export async function freeLowPort (min = 10_000, max = 32_000): Promise<number> {
  for (;;) {
    const port = min + Math.floor(Math.random() * (max - min))
    const server = createNetServer()
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => { resolve(false) })
      server.listen(port, '127.0.0.1', () => { resolve(true) })
    })
    if (!bound) continue
    await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    return port
  }
}

/** A URL where nothing listens (connections are refused): a free port below 20000, a range no test listens on. */
export async function closedUrl (): Promise<string> {
  return `http://127.0.0.1:${await freeLowPort(10_000, 20_000)}`
}

export interface TestTokenIssuer {
  jwksBaseUrl: string
  issuer: string
  audience: string
  token: (claims: { sub: string, username?: string, email?: string, staff?: boolean }, options?: { expiresInSeconds?: number, kid?: string }) => string
  /** How many times the JWKS was fetched. */
  jwksRequests: () => number
  close: () => Promise<void>
}

export async function startTestTokenIssuer (t: Teardown, options: { issuer?: string, audience?: string } = {}): Promise<TestTokenIssuer> {
  const { generateKeyPairSync, createPublicKey } = await import('node:crypto')
  const { createServer } = await import('node:http')
  const { createSigner } = await import('fast-jwt')
  const issuer = options.issuer ?? 'topup-auth'
  const audience = options.audience ?? 'topup-platform'
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const kid = randomBytes(8).toString('hex')
  const jwk = { ...createPublicKey(privateKey).export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' }
  let jwksRequests = 0
  const server = createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      jwksRequests++
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }))
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('test token issuer did not listen')
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  const close = async (): Promise<void> => { await new Promise<void>((resolve) => server.close(() => { resolve() })) }
  t.teardown(close)
  return {
    jwksBaseUrl: `http://127.0.0.1:${address.port}`,
    issuer,
    audience,
    token (claims, tokenOptions = {}) {
      const sign = createSigner({ key: pem, algorithm: 'ES256', kid: tokenOptions.kid ?? kid, iss: issuer, aud: audience, expiresIn: (tokenOptions.expiresInSeconds ?? 900) * 1000 })
      return sign({ username: claims.sub.slice(0, 8), email: `${claims.sub.slice(0, 8)}@example.com`, staff: false, typ: 'access', ...claims })
    },
    jwksRequests: () => jwksRequests,
    close
  }
}

/** Debian's Chromium, never a browser a tool downloads (CHROMIUM_PATH overrides). */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Flags for a headless Chromium on a machine with no network but loopback. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage']

/** A headless Chromium (playwright-core), closed after the test. */
export async function launchBrowser (t: Teardown): Promise<Browser> {
  const { chromium } = await import('playwright-core')
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true })
  t.teardown(async () => { await browser.close() })
  return browser
}

/** Polls `check` until it holds; fails naming `what` after the deadline (no fixed sleeps in tests). */
export async function waitFor (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 15_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** What a service's test needs: its throwaway database, token issuer, broker prefix, and the env that points the service at them. */
export interface ServiceTestEnv {
  databaseUrl: string
  issuer: TestTokenIssuer
  prefix: string
  amqpUrl: string
  env: Record<string, string>
}

export async function serviceTestEnv (t: Teardown, service: string): Promise<ServiceTestEnv> {
  const databaseUrl = await createTestDatabase(t, service)
  const issuer = await startTestTokenIssuer(t)
  const prefix = `${uniqueName(service)}.`
  const amqpUrl = await rabbitUrl()
  return {
    databaseUrl,
    issuer,
    prefix,
    amqpUrl,
    env: { NODE_ENV: 'test', LOG_LEVEL: 'info', DATABASE_URL: databaseUrl, AMQP_URL: amqpUrl, BROKER_PREFIX: prefix, AUTH_URL: issuer.jwksBaseUrl }
  }
}

/** The users service tests act as (fixed ids, so tests can assert on them). */
export const PLAYER_ID = '11111111-1111-4111-8111-111111111111'
export const OTHER_PLAYER_ID = '22222222-2222-4222-8222-222222222222'
export const STAFF_ID = '33333333-3333-4333-8333-333333333333'

/** Authorization headers for a player (any id) or the staff member, signed by the test issuer. */
export function testUsers (issuer: TestTokenIssuer): { player: (sub?: string) => { authorization: string }, staff: () => { authorization: string } } {
  return {
    player: (sub = PLAYER_ID) => ({ authorization: `Bearer ${issuer.token({ sub, email: `${sub.slice(0, 4)}@players.test` })}` }),
    staff: () => ({ authorization: `Bearer ${issuer.token({ sub: STAFF_ID, staff: true, email: 'staff@topup.test' })}` })
  }
}

/**
 * Rows of an RFC 4180 CSV document (quoted cells may hold commas, "" and line
 * breaks; CRLF or LF between rows), for tests of the exports. csv-writer, the
 * platform's CSV library, only writes.
 */
export function parseCsv (text: string): string[][] {
  const rows: string[][] = []
  let row: string[] = []
  let cell = ''
  let quoted = false
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++ } else if (c === '"') quoted = false
      else cell += c
    } else if (c === '"') quoted = true
    else if (c === ',') { row.push(cell); cell = '' } else if (c === '\r' && text[i + 1] === '\n') { row.push(cell); rows.push(row); row = []; cell = ''; i++ } else if (c === '\n') { row.push(cell); rows.push(row); row = []; cell = '' } else cell += c
  }
  if (cell !== '' || row.length > 0) { row.push(cell); rows.push(row) }
  return rows
}
