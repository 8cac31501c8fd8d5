/**
 * What the OWASP API Top 10 files share: the whole platform in-process (the
 * system tests' harness, with a staff user and limits high enough that a
 * file's own traffic is never throttled unless it means to be), players,
 * a raw-socket client, a client that connects from a chosen loopback address,
 * JWT forging and a CSV reader.
 *
 * Every connection goes to 127.0.0.1 (or from another 127.0.0.x to it):
 * nothing here ever sends traffic off this machine.
 */
import { createHmac, createPrivateKey, createSign, randomBytes, type KeyObject } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import type { Kysely } from 'kysely'
import { startSystem, type System, type SystemOptions, type Teardown, type Tokens } from '../system/harness.js'
import type { Database as AuthDatabase } from '../../services/auth/dist/src/db/schema.js'

export const STAFF = { STAFF_USERNAME: 'sec_staff', STAFF_EMAIL: 'sec_staff@topup.test', STAFF_PASSWORD: 'Staff-Passw0rd-Security-7' }

/** The rate limits (DESIGN: "0 = off" is not assumed) set high: load-generating tests must not trip them by accident. */
export const GENEROUS_LIMITS = {
  auth: { REGISTER_MAX_PER_IP: '100000', LOGIN_MAX_PER_IP: '100000' },
  orders: { ORDER_MAX_PER_USER: '100000', ORDER_MAX_PER_IP: '100000' }
}

export type ServiceName = 'auth' | 'orders' | 'payments' | 'analytics'

export interface Player {
  id: string
  username: string
  email: string
  password: string
  access: string
  refresh: string
}

export interface Platform extends System {
  /** An access token of the bootstrapped staff user. */
  staffToken: string
  /** Each service's own base URL (going around the gateway). */
  direct: Record<ServiceName, string>
  /** The gateway's port on 127.0.0.1 (raw sockets). */
  gatewayPort: number
  /** Registers and logs in a new player (names get a random suffix). */
  player: (prefix?: string) => Promise<Player>
}

/**
 * The platform with the staff user of STAFF and GENEROUS_LIMITS; `env` is
 * merged over them per service (a file that tests a limit sets it low there).
 */
export async function startPlatform (t: Teardown, options: SystemOptions = {}): Promise<Platform> {
  const env = options.env ?? {}
  const merged: NonNullable<SystemOptions['env']> = {
    ...env,
    // the gateway's admin listener on a free port (its default, 8081, is one port for every file running at once)
    gateway: { ADMIN_PORT: '0', ...env.gateway },
    auth: { ...STAFF, ...GENEROUS_LIMITS.auth, ...env.auth },
    orders: { ...GENEROUS_LIMITS.orders, ...env.orders }
  }
  const system = await startSystem(t, { ...options, env: merged })
  const staff = await system.http<Tokens>('POST', '/api/token/', { body: { username: STAFF.STAFF_USERNAME, password: STAFF.STAFF_PASSWORD } })
  if (staff.status !== 200) throw new Error(`staff login: ${staff.status} ${staff.text}`)
  const orders = system.orders[0]
  const payments = system.payments[0]
  if (orders === undefined || payments === undefined || system.analytics === null) throw new Error('the security suite needs every service')
  const direct = { auth: system.auth.url, orders: orders.url, payments: payments.url, analytics: system.analytics.url }
  return {
    ...system,
    staffToken: staff.body.access,
    direct,
    gatewayPort: Number(new URL(system.url).port),
    async player (prefix = 'p') {
      const username = `${prefix}_${randomBytes(5).toString('hex')}`
      const registered = await system.register(username)
      const tokens = await system.login(username)
      return { ...registered, ...tokens }
    }
  }
}

/** The auth service's database, typed (the harness leaves it untyped: each service's types live in its own build). */
export function authDb (platform: Platform): Kysely<AuthDatabase> {
  return platform.auth.db as Kysely<AuthDatabase>
}

// ---------------------------------------------------------------------------
// Raw HTTP over a socket: absolute-form targets, bad Host headers, slow bytes,
// things fetch() refuses to send.

export interface RawResponse {
  /** Everything the server sent. */
  raw: string
  /** The status code of the first response (null if none arrived). */
  status: number | null
  headers: Record<string, string>
  body: string
  /** The server closed the connection (rather than the wait ending). */
  closed: boolean
  /** Milliseconds until the first response was complete or the socket closed. */
  elapsedMs: number
}

function parseFirstResponse (raw: string): { status: number | null, headers: Record<string, string>, body: string, complete: boolean } {
  let text = raw
  // interim 1xx responses come first: skip them
  for (;;) {
    const m = /^HTTP\/1\.[01] 1\d\d[^\r\n]*\r\n(?:[^\r\n]+\r\n)*\r\n/.exec(text)
    if (m === null) break
    text = text.slice(m[0].length)
  }
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return { status: null, headers: {}, body: '', complete: false }
  const [statusLine = '', ...lines] = text.slice(0, end).split('\r\n')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine)
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
  }
  let body = text.slice(end + 4)
  let complete = false
  const length = headers['content-length']
  if (length !== undefined) {
    complete = Buffer.byteLength(body) >= Number(length)
    body = body.slice(0, Number(length))
  } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    complete = /(^|\r\n)0\r\n\r\n$/.test(body)
  } else if (status !== null && ['204', '304'].includes(status[1] ?? '')) {
    complete = true
  }
  return { status: status === null ? null : Number(status[1]), headers, body, complete }
}

export interface RawOptions {
  /** Give up waiting after this long (the socket is destroyed). Default 5 s. */
  timeoutMs?: number
  /** Keep reading until the server closes (not just until the first response is complete). */
  untilClose?: boolean
  localAddress?: string
}

/** Sends `data` as written to 127.0.0.1:port and collects the answer. */
export async function rawHttp (port: number, data: string | Buffer, options: RawOptions = {}): Promise<RawResponse> {
  const socket = connect({ host: '127.0.0.1', port, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) })
  const started = Date.now()
  return await new Promise<RawResponse>((resolve) => {
    let raw = ''
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      const parsed = parseFirstResponse(raw)
      resolve({ raw, status: parsed.status, headers: parsed.headers, body: parsed.body, closed, elapsedMs: Date.now() - started })
    }
    const timer = setTimeout(() => { finish(false) }, options.timeoutMs ?? 5000)
    socket.on('connect', () => { socket.write(data) })
    socket.on('data', (chunk: Buffer) => {
      raw += chunk.toString('latin1')
      if (options.untilClose !== true && parseFirstResponse(raw).complete) finish(false)
    })
    socket.on('error', () => { finish(true) })
    socket.on('close', () => { finish(true) })
  })
}

/**
 * A connection that sends `head` at once and then `drip` one byte every
 * `intervalMs` (a slow-loris client); resolves when the server closes the
 * connection or `maxMs` passes.
 */
export async function slowClient (port: number, head: string, drip: string, intervalMs: number, maxMs: number): Promise<{ closedAfterMs: number | null, raw: string }> {
  const socket: Socket = connect({ host: '127.0.0.1', port })
  const started = Date.now()
  return await new Promise((resolve) => {
    let raw = ''
    let sent = 0
    let done = false
    const finish = (closed: boolean): void => {
      if (done) return
      done = true
      clearInterval(dripper)
      clearTimeout(timer)
      socket.destroy()
      resolve({ closedAfterMs: closed ? Date.now() - started : null, raw })
    }
    const dripper = setInterval(() => {
      if (socket.destroyed || socket.writableEnded) return
      socket.write(drip[sent % drip.length] ?? 'x')
      sent++
    }, intervalMs)
    const timer = setTimeout(() => { finish(false) }, maxMs)
    socket.on('connect', () => { socket.write(head) })
    socket.on('data', (chunk: Buffer) => { raw += chunk.toString('latin1') })
    socket.on('error', () => { finish(true) })
    socket.on('close', () => { finish(true) })
  })
}

// ---------------------------------------------------------------------------
// HTTP from a chosen source address: the whole of 127.0.0.0/8 is loopback, so
// 127.0.0.x connecting to 127.0.0.1 is "another client address" as the
// gateway (which sees the TCP peer) tells them apart.

export interface FromResult { status: number, headers: Record<string, string | string[] | undefined>, text: string, body: Record<string, unknown> }

export async function httpFrom (localAddress: string, method: string, url: string, options: { token?: string, body?: unknown, headers?: Record<string, string> } = {}): Promise<FromResult> {
  const target = new URL(url)
  const payload = options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body)
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (payload !== undefined) {
    headers['content-type'] ??= 'application/json'
    headers['content-length'] = String(Buffer.byteLength(payload))
  }
  return await new Promise<FromResult>((resolve, reject) => {
    const req = httpRequest({ host: target.hostname, port: target.port, path: `${target.pathname}${target.search}`, method, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => { chunks.push(c) })
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let body: Record<string, unknown> = {}
        if ((res.headers['content-type'] ?? '').includes('json') && text !== '') body = JSON.parse(text) as Record<string, unknown>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body })
      })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

// ---------------------------------------------------------------------------
// A canary: an HTTP listener on loopback that records every connection, the
// stand-in for "another host" in SSRF probes. If anything in the platform is
// tricked into fetching a URL, it fetches this one, and the test sees it.

export interface Canary { port: number, origin: string, connections: () => number, received: () => string }

export async function startCanary (t: Teardown): Promise<Canary> {
  let connections = 0
  let received = ''
  const server = createServer((socket) => {
    connections++
    socket.on('data', (chunk: Buffer) => { received += chunk.toString('latin1') })
    socket.on('error', () => {})
    const body = '{"canary":"reached"}'
    socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => { await new Promise<void>((resolve) => server.close(() => { resolve() })) })
  const { port } = server.address() as AddressInfo
  return { port, origin: `http://127.0.0.1:${port}`, connections: () => connections, received: () => received }
}

// ---------------------------------------------------------------------------
// JWTs made by hand: the point is to build the tokens a library would refuse
// to build (alg none, HMAC over a public key, tampered parts).

export const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : Buffer.isBuffer(value) ? value : JSON.stringify(value)).toString('base64url')

export interface JwtParts { header: Record<string, unknown>, payload: Record<string, unknown> }

export function decodeJwt (token: string): JwtParts {
  const [h = '', p = ''] = token.split('.')
  return { header: JSON.parse(Buffer.from(h, 'base64url').toString('utf8')) as Record<string, unknown>, payload: JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown> }
}

export function unsignedJwt (header: Record<string, unknown>, payload: Record<string, unknown>, signature = ''): string {
  return `${b64url(header)}.${b64url(payload)}.${signature}`
}

export function hs256Jwt (header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | Buffer): string {
  const input = `${b64url({ ...header, alg: 'HS256' })}.${b64url(payload)}`
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`
}

export function es256Jwt (header: Record<string, unknown>, payload: Record<string, unknown>, privateKey: KeyObject | string): string {
  const input = `${b64url({ ...header, alg: 'ES256' })}.${b64url(payload)}`
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey
  const signature = createSign('sha256').update(input).sign({ key, dsaEncoding: 'ieee-p1363' })
  return `${input}.${signature.toString('base64url')}`
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export { parseCsv } from '@topup/service-kit/testing'

// ---------------------------------------------------------------------------
// What reached which service: the gateway passes its request id on (and takes
// a client's plain one), and every service logs its requests with it.

/** The services (gateway excluded) whose logs mention this request id. */
export function servicesThatSaw (platform: Platform, requestId: string): ServiceName[] {
  const logs: Record<ServiceName, string> = {
    auth: platform.auth.logs.text,
    orders: platform.orders.map((o) => o.logs.text).join('\n'),
    payments: platform.payments.map((p) => p.logs.text).join('\n'),
    analytics: platform.analytics?.logs.text ?? ''
  }
  return (Object.keys(logs) as ServiceName[]).filter((s) => logs[s].includes(requestId))
}

export const requestId = (label: string): string => `sec-${label}-${randomBytes(6).toString('hex')}`

/** Signs of an internal error text reaching a client: stack frames, file paths, driver and framework internals. */
export const INTERNALS = /\bat [\w.<>]+ \(|node_modules|\/work\/|\.js:\d+|\.ts:\d+|stack|SyntaxError|TypeError|RangeError|ReferenceError|FST_[A-Z_]+|ERR_[A-Z_]+|kysely|postgres|\bpg\b|SQL|relation "|violates|undici|amqp/i
