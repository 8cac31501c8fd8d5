#!/usr/bin/env node
// `npm run demo`: fills a running system (`npm start`) with weeks of realistic
// activity through the real pipeline, so a newcomer sees a living dashboard.
//
// It behaves like the outside world and nothing else: players register, log in
// and place top-up orders through the gateway (backdated with the development-
// only X-Demo-Created-At header of orders), and a payment provider settles each
// order with a signed webhook. Orders, payments and analytics learn about it
// from their events (outbox → RabbitMQ), so every service agrees afterwards.
// It never touches a database or the broker.
//
//   GATEWAY_URL             default http://127.0.0.1:8080
//   GATEWAY_ADMIN_URL       default http://127.0.0.1:8081 (where the gateway's /ready answers)
//   PAYMENT_WEBHOOK_SECRET  default: the payments service's development secret
//   DEMO_PLAYERS            players (demo_player_001 …), default 300
//   DEMO_DAYS               days of history up to today (UTC), default 60 (at most 365)
//   DEMO_ORDERS             orders, default 3000
//   DEMO_SEED               seed of the generator, default "topup-demo": same seed, same history
//   DEMO_CONCURRENCY        requests in flight, default 32
//   DEMO_STAFF_USERNAME / DEMO_STAFF_PASSWORD  (else STAFF_USERNAME / STAFF_PASSWORD):
//                           optional staff login, used to add a catalog when there is none
//                           and to wait for the dashboard's figures to catch up
//
// The same seed on the same day places the same orders with the same
// Idempotency-Keys: running it again adds nothing (it replays and reports).
// Another day or another DEMO_SEED adds another history on top.

import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const PAYMENTS_DIST = join(ROOT, 'services/payments/dist/src')
const DAY_MS = 86_400_000
const PLAYER_PASSWORD = 'Demo-Topup-Pl4yer!'
const PENDING_SHARE = 0.02
const SUCCESS_SHARE = 0.70
const MAX_ERROR_RATE = 0.01

// ---------------------------------------------------------------------------
// Output

const TTY = process.stderr.isTTY === true

function fail (message) {
  progress.stop()
  process.stderr.write(`\ndemo: ${message}\n`)
  process.exit(1)
}

function note (message) {
  progress.clear()
  process.stderr.write(`${message}\n`)
  progress.draw(true)
}

function formatSeconds (seconds) {
  if (!Number.isFinite(seconds)) return '?'
  if (seconds < 60) return `${Math.round(seconds)}s`
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
}

/** One updating line on a terminal (`orders 1234/3000 [=====>   ] 41% · settled 1100 · 95 req/s · eta 18s`), plain lines elsewhere. */
const progress = {
  phase: '',
  total: 0,
  done: 0,
  extra: () => '',
  startedAt: 0,
  lastPlain: 0,
  timer: undefined,
  requestsAtStart: 0,
  start (phase, total, extra = () => '') {
    this.stop()
    Object.assign(this, { phase, total, done: 0, extra, startedAt: Date.now(), lastPlain: 0, requestsAtStart: stats.requests })
    this.timer = setInterval(() => this.draw(), TTY ? 200 : 5000)
    this.timer.unref()
    this.draw(true)
  },
  line () {
    const width = 24
    const ratio = this.total === 0 ? 1 : Math.min(1, this.done / this.total)
    const filled = Math.round(ratio * width)
    const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}`
    const elapsed = (Date.now() - this.startedAt) / 1000
    const rate = elapsed > 0 ? (stats.requests - this.requestsAtStart) / elapsed : 0
    const eta = this.done > 0 ? elapsed * (this.total - this.done) / this.done : Number.NaN
    const extra = this.extra()
    return `${this.phase} ${this.done}/${this.total} [${bar}] ${Math.floor(ratio * 100)}%` +
      `${extra === '' ? '' : ` · ${extra}`} · ${Math.round(rate)} req/s · eta ${formatSeconds(eta)}`
  },
  draw (force = false) {
    if (this.phase === '') return
    if (TTY) {
      process.stderr.write(`\r\u001b[2K${this.line()}`)
    } else if (force || Date.now() - this.lastPlain >= 5000) {
      this.lastPlain = Date.now()
      process.stderr.write(`${this.line()}\n`)
    }
  },
  clear () {
    if (TTY && this.phase !== '') process.stderr.write('\r\u001b[2K')
  },
  stop () {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    if (this.phase !== '') {
      this.clear()
      process.stderr.write(`${this.line()}\n`)
    }
    this.phase = ''
  }
}

// ---------------------------------------------------------------------------
// Configuration

function positiveInt (name, fallback, max = Number.MAX_SAFE_INTEGER) {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) fail(`${name} must be a whole number from 1 to ${max} (got ${JSON.stringify(raw)})`)
  return Number(raw)
}

if (!existsSync(join(PAYMENTS_DIST, 'signature.js'))) {
  process.stderr.write('demo: the services are not built: run npm run build (or npm start) first\n')
  process.exit(1)
}
const { signPayload } = await import(pathToFileURL(join(PAYMENTS_DIST, 'signature.js')).href)
const { DEV_WEBHOOK_SECRET } = await import(pathToFileURL(join(PAYMENTS_DIST, 'config.js')).href)

const config = {
  gateway: (process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, ''),
  // the gateway's /ready is on its admin listener, never on the public port
  admin: (process.env.GATEWAY_ADMIN_URL ?? 'http://127.0.0.1:8081').replace(/\/+$/, ''),
  secret: process.env.PAYMENT_WEBHOOK_SECRET ?? DEV_WEBHOOK_SECRET,
  players: positiveInt('DEMO_PLAYERS', 300, 100_000),
  days: positiveInt('DEMO_DAYS', 60, 365),
  orders: positiveInt('DEMO_ORDERS', 3000, 1_000_000),
  seed: process.env.DEMO_SEED ?? 'topup-demo',
  concurrency: positiveInt('DEMO_CONCURRENCY', 32, 256),
  staff: {
    username: process.env.DEMO_STAFF_USERNAME ?? process.env.STAFF_USERNAME,
    password: process.env.DEMO_STAFF_PASSWORD ?? process.env.STAFF_PASSWORD
  }
}

// ---------------------------------------------------------------------------
// A seeded generator: the same seed gives the same history

function seededRandom (seed) {
  let a = createHash('sha256').update(String(seed)).digest().readUInt32LE(0)
  return function mulberry32 () {
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Index drawn with probability proportional to its weight. */
function pick (random, weights, total = weights.reduce((a, b) => a + b, 0)) {
  let r = random() * total
  for (let i = 0; i < weights.length; i++) {
    r -= weights[i]
    if (r < 0) return i
  }
  return weights.length - 1
}

/** Money as integer hundredths: "699.00" → 69900, and back. */
const cents = (amount) => Math.round(Number(amount) * 100)
const money = (c) => `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`

/**
 * The whole history, decided before the first request: who buys what, when,
 * and how the payment ends.
 *
 * - players: activity from a Pareto tail (a few whales, many occasional
 *   buyers), a favourite game, and a day they joined (a third were there from
 *   the start, the rest arrive over the period);
 * - days: a gentle growth trend, busier Fridays and weekends, some noise;
 *   times of day follow the Indian evening (prices are in INR);
 * - products: popular games and cheaper packs sell more; 70 % of a player's
 *   orders are for their favourite game;
 * - payments: ~70 % succeed, ~28 % fail, ~2 % stay pending.
 */
function planHistory ({ random, players: playerCount, days, orders: orderCount, games, now }) {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  const firstDay = today - (days - 1) * DAY_MS

  const gameWeights = games.map((_, i) => 1 / (i + 1) ** 0.8 * (0.7 + 0.6 * random()))
  const productWeights = games.map((game) => game.products.map((p) => (0.6 + 0.8 * random()) / Math.max(cents(p.price) / 100, 1) ** 0.55))

  const players = Array.from({ length: playerCount }, (_, i) => {
    const activity = Math.min(1 / (1 - random()) ** (1 / 1.3), 40)
    const joined = random() < 0.35 ? 0 : Math.floor(random() ** 0.9 * days)
    const favourite = pick(random, gameWeights)
    return { index: i + 1, username: `demo_player_${String(i + 1).padStart(3, '0')}`, activity, joined, favourite }
  })

  // orders per day: trend × weekday × noise, shared out exactly
  const dayWeights = Array.from({ length: days }, (_, d) => {
    const weekday = new Date(firstDay + d * DAY_MS).getUTCDay()
    const week = weekday === 0 || weekday === 6 ? 1.35 : weekday === 5 ? 1.15 : 1
    return (1 + 0.8 * d / Math.max(days - 1, 1)) * week * (0.85 + 0.3 * random())
  })
  const totalWeight = dayWeights.reduce((a, b) => a + b, 0)
  const perDay = dayWeights.map((w) => Math.floor(orderCount * w / totalWeight))
  let missing = orderCount - perDay.reduce((a, b) => a + b, 0)
  for (let d = days - 1; missing > 0; d = (d - 1 + days) % days, missing--) perDay[d]++

  // hours of the day, UTC: quiet at night in India (UTC+5:30), busiest in its evening
  const hourWeights = [3, 3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7, 7.5, 8.5, 10, 12, 14, 15, 14, 12, 9, 6, 4, 2.5, 2, 2.5]
  const elapsedToday = now.getTime() - today

  const plan = []
  for (let d = 0; d < days; d++) {
    const day = firstDay + d * DAY_MS
    const eligible = players.map((p) => (p.joined <= d ? p.activity : 0))
    const eligibleTotal = eligible.reduce((a, b) => a + b, 0)
    for (let n = 0; n < perDay[d]; n++) {
      const player = players[pick(random, eligible, eligibleTotal)]
      const gameIndex = random() < 0.7 ? player.favourite : pick(random, gameWeights)
      const game = games[gameIndex]
      const product = game.products[pick(random, productWeights[gameIndex])]
      const hour = pick(random, hourWeights)
      let offset = (hour * 3600 + random() * 3600) * 1000
      // today's orders happened before now (squeezed into the hours gone by, a minute of margin)
      if (day === today) offset = offset / DAY_MS * Math.max(elapsedToday - 60_000, elapsedToday / 2)
      const r = random()
      const outcome = r < PENDING_SHARE ? 'pending' : r < PENDING_SHARE + SUCCESS_SHARE ? 'success' : 'failed'
      plan.push({ player, game, product, createdAt: new Date(day + Math.floor(offset)), outcome })
    }
  }
  plan.sort((a, b) => a.createdAt - b.createdAt)
  plan.forEach((order, i) => { order.seq = i + 1 })
  return { plan, players, firstDay, today }
}

// ---------------------------------------------------------------------------
// HTTP, like any client, with a bound on requests in flight

const stats = { requests: 0, errors: 0, retries: 0, webhook404: 0 }

class Semaphore {
  constructor (size) { this.free = size; this.waiting = [] }
  async acquire () {
    if (this.free > 0) { this.free--; return }
    await new Promise((resolve) => this.waiting.push(resolve))
  }
  release () {
    const next = this.waiting.shift()
    if (next !== undefined) next()
    else this.free++
  }
}

const slots = new Semaphore(config.concurrency)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

class RequestError extends Error {
  constructor (message, status, body) { super(message); this.status = status; this.body = body }
}

/** One request through the gateway: { status, body, headers }; network failures throw. */
async function call (method, path, { body, headers = {}, token, raw } = {}) {
  await slots.acquire()
  stats.requests++
  try {
    const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(30_000) }
    if (token !== undefined) init.headers.authorization = `Bearer ${token}`
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json'
      init.body = raw ?? JSON.stringify(body)
    }
    const response = await fetch(`${config.gateway}${path}`, init)
    const text = await response.text()
    let json
    try { json = text === '' ? undefined : JSON.parse(text) } catch { json = text }
    return { status: response.status, body: json, headers: response.headers }
  } finally {
    slots.release()
  }
}

/**
 * A request retried on network errors, 429 and 5xx (with backoff) — the
 * callers only retry what is safe: reads, logins, and top-ups carrying an
 * Idempotency-Key. Gives up (counted as an error) after a few attempts.
 */
async function callWithRetry (method, path, options = {}, attempts = 4) {
  let last
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const result = await call(method, path, options)
      if (result.status !== 429 && result.status < 500) return result
      last = new RequestError(`${method} ${path} → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
      const retryAfter = Number(result.headers.get('retry-after'))
      if (attempt < attempts) await sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? Math.min(retryAfter, 10) * 1000 : 250 * 2 ** attempt)
    } catch (err) {
      last = err instanceof RequestError ? err : new RequestError(`${method} ${path}: ${err.cause?.code ?? err.message}`)
      if (attempt < attempts) await sleep(250 * 2 ** attempt)
    }
    if (attempt < attempts) stats.retries++
  }
  throw last
}

function messageOf (body) {
  if (body !== null && typeof body === 'object' && typeof body.message === 'string') return body.message
  return typeof body === 'string' ? body.slice(0, 200) : ''
}

const errorSamples = []
function recordError (err) {
  stats.errors++
  if (errorSamples.length < 5) errorSamples.push(err.message)
  // persistent trouble: stop early rather than hammer a broken system
  if (stats.errors >= 25 && stats.errors > stats.requests * 0.05) {
    fail(`too many failed requests (${stats.errors} of ${stats.requests}), stopping. First errors:\n  ${errorSamples.join('\n  ')}`)
  }
}

// ---------------------------------------------------------------------------
// The system: up? catalog? staff?

async function checkGateway () {
  const deadline = Date.now() + 30_000
  for (;;) {
    let result
    try {
      const response = await fetch(`${config.admin}/ready`, { signal: AbortSignal.timeout(10_000) })
      result = { status: response.status, body: await response.json().catch(() => undefined) }
    } catch (err) {
      fail(`the gateway's admin listener at ${config.admin} does not answer (${err.cause?.code ?? err.message}): start the system first: npm start`)
    }
    if (result.status === 200) return
    if (Date.now() > deadline) {
      fail(`the system at ${config.admin} is not ready (/ready → ${result.status} ${JSON.stringify(result.body)}): start the system first (npm start) and wait for "ready"`)
    }
    await sleep(1000)
  }
}

async function login (username, password) {
  const result = await callWithRetry('POST', '/api/token/', { body: { username, password } })
  if (result.status === 200) return { access: result.body.access, refresh: result.body.refresh, at: Date.now() }
  throw new RequestError(`login of ${username} → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
}

async function staffLogin () {
  const { username, password } = config.staff
  if (username === undefined || password === undefined) return undefined
  try {
    return await login(username, password)
  } catch (err) {
    note(`demo: staff login as ${username} failed (${err.message}); going on without staff`)
    return undefined
  }
}

/** A few games and packs, for a system whose catalog is (almost) empty. */
const FALLBACK_CATALOG = [
  { name: 'Clash Royale', game_id: 'cr-demo', products: [['Gem Pouch 80', '99.00', 80], ['Gem Box 500', '449.00', 500], ['Gem Chest 1200', '999.00', 1200]] },
  { name: 'PUBG Mobile', game_id: 'pubgm-demo', products: [['UC 60', '75.00', 60], ['UC 325', '380.00', 325], ['UC 660', '750.00', 660]] },
  { name: 'Free Fire', game_id: 'freefire-demo', products: [['Diamonds 100', '80.00', 100], ['Diamonds 520', '400.00', 520]] }
]

async function loadCatalog (staff) {
  const read = async () => {
    const result = await callWithRetry('GET', '/api/games/')
    if (result.status !== 200 || !Array.isArray(result.body)) fail(`GET /api/games/ → ${result.status} ${messageOf(result.body)}`)
    return result.body.filter((g) => g.is_active !== false && Array.isArray(g.products) && g.products.length > 0)
  }
  let games = await read()
  const products = games.reduce((n, g) => n + g.products.length, 0)
  if (games.length >= 3 && products >= 6) return games
  if (staff === undefined) {
    if (games.length > 0) {
      note(`demo: the catalog is small (${games.length} games, ${products} products); set DEMO_STAFF_USERNAME/DEMO_STAFF_PASSWORD to let the demo add some`)
      return games
    }
    fail('the catalog is empty: start orders in development (it loads a demo catalog) or set DEMO_STAFF_USERNAME/DEMO_STAFF_PASSWORD so the demo can add one')
  }
  note('demo: adding a few games and products to the catalog (as staff)')
  for (const game of FALLBACK_CATALOG) {
    if (games.some((g) => g.game_id === game.game_id)) continue
    const created = await callWithRetry('POST', '/api/games/', { token: staff.access, body: { name: game.name, game_id: game.game_id, is_active: true } })
    if (created.status !== 201) fail(`POST /api/games/ → ${created.status} ${messageOf(created.body)}`)
    for (const [name, price, currency] of game.products) {
      const product = await callWithRetry('POST', '/api/products/', { token: staff.access, body: { game: created.body.id, name, price, in_game_currency: currency } })
      if (product.status !== 201) fail(`POST /api/products/ → ${product.status} ${messageOf(product.body)}`)
    }
  }
  games = await read()
  return games
}

// ---------------------------------------------------------------------------
// Players

const authSlots = new Semaphore(4) // password hashing is the expensive part of auth: a few at a time

/** Registers the player (or finds them there from a previous run) and logs them in once. */
async function setUpPlayer (player, games) {
  await authSlots.acquire()
  try {
    const registered = await callWithRetry('POST', '/api/register/', {
      body: {
        username: player.username,
        email: `${player.username}@players.example.com`,
        password: PLAYER_PASSWORD,
        preferred_game: games[player.favourite].name
      }
    })
    if (registered.status === 201) player.isNew = true
    else if (registered.status === 409) player.isNew = false
    else throw new RequestError(`register ${player.username} → ${registered.status} ${messageOf(registered.body)}`, registered.status)
    player.session = await login(player.username, PLAYER_PASSWORD)
  } finally {
    authSlots.release()
  }
}

/** The player's access token, refreshed (once, for all their requests) when it gets old or is refused. */
async function accessToken (player, { stale } = {}) {
  const session = player.session
  if (stale !== session.access && Date.now() - session.at < 12 * 60_000) return session.access
  player.refreshing ??= (async () => {
    try {
      const result = await callWithRetry('POST', '/api/token/refresh/', { body: { refresh: session.refresh } })
      player.session = result.status === 200
        ? { access: result.body.access, refresh: result.body.refresh, at: Date.now() }
        : await login(player.username, PLAYER_PASSWORD)
    } finally {
      player.refreshing = undefined
    }
  })()
  await player.refreshing
  return player.session.access
}

// ---------------------------------------------------------------------------
// Orders and payments

const tally = {
  placed: 0,
  created: 0,
  replayed: 0,
  settled: 0,
  changed: { success: 0, failed: 0 },
  outcome: { success: 0, failed: 0, pending: 0 },
  revenueCents: 0
}

async function placeOrder (order, runId) {
  const { player, game, product } = order
  const body = { gamename: game.name, game_id: game.game_id, product_name: product.name, product_id: product.id, product_price: product.price }
  const headers = { 'idempotency-key': `demo-${runId}-${order.seq}`, 'x-demo-created-at': order.createdAt.toISOString() }
  let token = await accessToken(player)
  for (let attempt = 1; ; attempt++) {
    const result = await callWithRetry('POST', '/api/topup/', { body, headers, token })
    if (result.status === 201) {
      order.orderId = result.body.order_id
      order.transactionId = result.body.transaction_id
      order.replayed = result.headers.get('idempotent-replayed') === 'true'
      return
    }
    if (result.status === 401 && attempt === 1) {
      token = await accessToken(player, { stale: token })
      continue
    }
    if (result.status === 400 && /backdating/i.test(messageOf(result.body))) {
      fail(`the orders service refuses backdated orders: ${messageOf(result.body)} (the demo needs orders in development with DEMO_BACKDATING unset or true)`)
    }
    throw new RequestError(`POST /api/topup/ (${player.username}, ${product.name}) → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
  }
}

/**
 * The payment provider's side: a signed webhook with the outcome. A 404 means
 * payments has not received the OrderCreated yet (it is on its way through the
 * outbox and RabbitMQ): try again shortly.
 */
async function settle (order) {
  const body = JSON.stringify({ transaction_id: order.transactionId, status: order.outcome })
  const deadline = Date.now() + 90_000
  for (let wait = 150; ; wait = Math.min(wait * 2, 2000)) {
    const headers = { 'x-topup-signature': signPayload(config.secret, body, Math.floor(Date.now() / 1000)) }
    const result = await callWithRetry('POST', '/api/payment/webhook/', { raw: body, body: true, headers })
    if (result.status === 200) {
      if (result.body.changed === true) tally.changed[order.outcome]++
      return
    }
    if (result.status === 401) {
      fail(`the payment webhook refuses the signature (${messageOf(result.body)}): set PAYMENT_WEBHOOK_SECRET to the secret the payments service uses`)
    }
    if (result.status === 409) {
      // settled otherwise by an earlier run: it stays as it is (statuses only move forward)
      order.outcome = order.outcome === 'success' ? 'failed' : 'success'
      note(`demo: transaction ${order.transactionId} was already settled otherwise (409), kept as it is`)
      return
    }
    if (result.status !== 404 || Date.now() > deadline) {
      throw new RequestError(`webhook for ${order.transactionId} → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
    }
    stats.webhook404++
    await sleep(wait)
  }
}

async function runOrder (order, runId) {
  try {
    await order.player.ready
    await placeOrder(order, runId)
    tally.placed++
    if (order.replayed) tally.replayed++
    else tally.created++
    progress.done++
    if (order.outcome !== 'pending') {
      // a real provider answers after a moment; most OrderCreated events are at payments by then
      await sleep(200)
      await settle(order)
      tally.settled++
    }
    tally.outcome[order.outcome]++
    if (order.outcome === 'success') tally.revenueCents += cents(order.product.price)
  } catch (err) {
    order.failed = true
    recordError(err)
  }
}

/** Runs tasks with at most `limit` of them started but not finished. */
async function runAll (items, limit, task) {
  let next = 0
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await task(items[next++])
  })
  await Promise.all(lanes)
}

// ---------------------------------------------------------------------------
// Waiting for the pipeline to settle

function isoDay (ms) {
  return new Date(ms).toISOString().slice(0, 10)
}

async function summary (staff, range) {
  const result = await callWithRetry('GET', `/api/analytics/summary/?start_date=${range.start}&end_date=${range.end}`, { token: staff.access })
  if (result.status !== 200) throw new RequestError(`GET /api/analytics/summary/ → ${result.status} ${messageOf(result.body)}`, result.status, result.body)
  return result.body
}

/** Orders, as each player sees them, until a sample of them shows its final status. */
async function waitForOrders (plan) {
  const settledOrders = plan.filter((o) => o.orderId !== undefined && !o.failed)
  const random = seededRandom('sample')
  const sample = new Set(settledOrders.slice(-100))
  while (sample.size < Math.min(200, settledOrders.length)) sample.add(settledOrders[Math.floor(random() * settledOrders.length)])
  let waiting = [...sample]
  progress.start('orders service', waiting.length, () => '')
  const deadline = Date.now() + 120_000
  while (waiting.length > 0) {
    const still = []
    await runAll(waiting, config.concurrency, async (order) => {
      const token = await accessToken(order.player)
      const result = await callWithRetry('GET', `/api/orders/${order.orderId}`, { token })
      if (result.status === 200 && result.body.status === order.outcome) progress.done++
      else still.push(order)
    })
    waiting = still
    if (waiting.length === 0) break
    if (Date.now() > deadline) fail(`${waiting.length} orders still do not show their payment result after 2 minutes (e.g. ${waiting[0].orderId}): is the payments → orders event flow working?`)
    await sleep(500)
  }
  progress.stop()
}

/** The dashboard's figures (analytics), until they count every order of this run. */
async function waitForAnalytics (staff, range, before) {
  const expected = {
    orders: before.totals.orders + tally.created,
    successful_orders: before.totals.successful_orders + tally.changed.success,
    failed_orders: before.totals.failed_orders + tally.changed.failed
  }
  const counted = (totals) => Math.min(totals.orders - before.totals.orders, tally.created) +
    Math.min(totals.successful_orders - before.totals.successful_orders, tally.changed.success) +
    Math.min(totals.failed_orders - before.totals.failed_orders, tally.changed.failed)
  const target = tally.created + tally.changed.success + tally.changed.failed
  if (target === 0) return await summary(staff, range)
  progress.start('analytics', target, () => 'events applied')
  const deadline = Date.now() + 120_000
  for (;;) {
    const now = await summary(staff, range)
    progress.done = Math.max(0, counted(now.totals))
    if (Object.entries(expected).every(([k, v]) => now.totals[k] >= v)) {
      progress.stop()
      return now
    }
    if (Date.now() > deadline) {
      fail(`the dashboard's figures have not caught up after 2 minutes (expected at least ${JSON.stringify(expected)}, got ${JSON.stringify(now.totals)}): is analytics consuming the events?`)
    }
    await sleep(500)
  }
}

// ---------------------------------------------------------------------------

async function main () {
  const started = Date.now()
  process.stderr.write(`demo: ${config.players} players, ${config.orders} orders over ${config.days} days, seed ${JSON.stringify(config.seed)}, through ${config.gateway}\n`)
  await checkGateway()
  const staff = await staffLogin()
  const games = await loadCatalog(staff)
  const productCount = games.reduce((n, g) => n + g.products.length, 0)

  const now = new Date()
  const random = seededRandom(config.seed)
  const { plan, players, firstDay, today } = planHistory({ random, players: config.players, days: config.days, orders: config.orders, games, now })
  const catalogSignature = games.map((g) => `${g.id}:${g.game_id}:${g.products.map((p) => `${p.id}=${p.price}`).join(',')}`).join(';')
  const runId = createHash('sha256').update(JSON.stringify([config.seed, config.players, config.days, config.orders, isoDay(today), catalogSignature])).digest('hex').slice(0, 12)
  const range = { start: isoDay(firstDay), end: isoDay(today) }
  process.stderr.write(`demo: catalog of ${games.length} games, ${productCount} products; history ${range.start} … ${range.end}\n`)
  const before = staff === undefined ? undefined : await summary(staff, range)

  // Players: set up in the order they first buy, so orders can start while the rest log in.
  const order = []
  const seen = new Set()
  for (const o of plan) if (!seen.has(o.player)) { seen.add(o.player); order.push(o.player) }
  for (const p of players) if (!seen.has(p)) order.push(p)
  let playersDone = 0
  for (const player of order) {
    player.ready = setUpPlayer(player, games).then(() => { playersDone++ })
    player.ready.catch((err) => { recordError(err) })
  }
  progress.start('orders', plan.length, () => `settled ${tally.settled} · players ${playersDone}/${players.length}`)

  await runAll(plan, config.concurrency * 4, (o) => runOrder(o, runId))
  await Promise.allSettled(order.map((p) => p.ready))
  progress.stop()

  const failedPlayers = players.filter((p) => p.session === undefined).length
  if (stats.errors > stats.requests * MAX_ERROR_RATE) {
    fail(`${stats.errors} of ${stats.requests} requests failed (more than ${MAX_ERROR_RATE * 100} %). First errors:\n  ${errorSamples.join('\n  ')}`)
  }

  const ordersSeconds = (Date.now() - started) / 1000
  await waitForOrders(plan)
  const after = staff === undefined ? undefined : await waitForAnalytics(staff, range, before)

  // ---- the summary
  const seconds = (Date.now() - started) / 1000
  const newPlayers = players.filter((p) => p.isNew === true).length
  const currency = after?.currency ?? 'INR'
  const lines = [
    '',
    `Demo history ready in ${formatSeconds(seconds)}: orders placed and paid in ${formatSeconds(ordersSeconds)}, then ${formatSeconds(seconds - ordersSeconds)} until every service had caught up.`,
    `  requests  ${stats.requests} (${Math.round(stats.requests / seconds)} req/s); ${stats.webhook404} webhooks answered 404 (event still on its way) and were retried`,
    `  players   ${players.length - failedPlayers} (${newPlayers} new, ${players.length - newPlayers - failedPlayers} already there)`,
    `  orders    ${tally.placed} over ${config.days} days, ${range.start} … ${range.end} (${tally.created} new${tally.replayed > 0 ? `, ${tally.replayed} already placed by an earlier run with this seed today: another DEMO_SEED adds another history` : ''})`,
    `  payments  ${tally.outcome.success} success · ${tally.outcome.failed} failed · ${tally.outcome.pending} pending`,
    `  revenue   ${money(tally.revenueCents)} ${currency} from successful orders`
  ]
  if (stats.errors > 0) lines.push(`  errors    ${stats.errors} requests failed (first: ${errorSamples[0]})`)
  if (after !== undefined) {
    const t = after.totals
    lines.push(`  dashboard ${range.start} … ${range.end}: ${t.orders} orders, revenue ${t.revenue} ${after.currency}, success rate ${t.success_rate ?? '-'} % (analytics, all orders in the range)`)
  }
  lines.push(
    '',
    `Open ${config.gateway}/api/dashboard/ and sign in as staff` +
      (config.staff.username === undefined ? ' (start with STAFF_USERNAME/STAFF_EMAIL/STAFF_PASSWORD, or npm run create-staff).' : ` (${config.staff.username}).`),
    `Players log in as demo_player_001 … with the password ${PLAYER_PASSWORD}`
  )
  process.stdout.write(`${lines.join('\n')}\n`)
}

process.on('SIGINT', () => { progress.stop(); process.stderr.write('demo: interrupted (running it again with the same seed today completes it without doubling anything)\n'); process.exit(130) })

main().catch((err) => fail(err.stack ?? String(err)))
