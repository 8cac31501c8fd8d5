/**
 * Steady load through the gateway, as real clients and a real payment provider
 * behave: players place top-ups (each with an Idempotency-Key, retried with
 * the same key after a network error or a 5xx, as a careful client does), the
 * provider reports each payment with a signed webhook and retries a 404
 * (transaction not known yet) or a failure later with backoff. Mixed in:
 * duplicate webhooks (later, and two at once), the opposite final status
 * after the first (must be 409), clients that abort after a few ms
 * (AbortController) and raw sockets closed in the middle of a body.
 *
 * A bounded loop over fetch rather than autocannon: every answer is needed per
 * order (its ids, which webhook got what) for the checks afterwards.
 */
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { signPayload } from '../../services/payments/dist/src/signature.js'

export type FinalStatus = 'success' | 'failed'

/** A deterministic generator, so a run can be repeated (CHAOS_SEED). */
export function rng (seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** At most `size` calls at once (the load's concurrency). */
export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []
  constructor (private readonly size: number) {}
  async run<T> (fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.size) await new Promise<void>((resolve) => { this.waiting.push(resolve) })
    this.active++
    try {
      return await fn()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

export interface Answer {
  /** 0: no answer (network error, timeout or our own abort). */
  status: number
  body: Record<string, unknown>
  headers: Headers | null
  error?: string
  aborted?: boolean
  /** Not sent at all: its turn came after the deadline. */
  notSent?: boolean
}

export interface CallOptions {
  token?: string
  body?: string
  headers?: Record<string, string>
  /** Abort the request this many ms after it started (a client giving up). */
  abortAfterMs?: number
  timeoutMs?: number
}

export async function call (base: string, method: string, path: string, options: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  if (options.body !== undefined) headers['content-type'] ??= 'application/json'
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new Error('timeout')) }, options.timeoutMs ?? 15_000)
  const abort = options.abortAfterMs === undefined ? undefined : setTimeout(() => { controller.abort(new Error('client abort')) }, options.abortAfterMs)
  try {
    const res = await fetch(new URL(path, base), { method, headers, signal: controller.signal, ...(options.body === undefined ? {} : { body: options.body }) })
    const text = await res.text()
    let body: Record<string, unknown> = {}
    if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
      try { body = JSON.parse(text) as Record<string, unknown> } catch { body = { unparsable: text.slice(0, 200) } }
    }
    return { status: res.status, body, headers: res.headers }
  } catch (err) {
    const reason = controller.signal.aborted ? String((controller.signal.reason as Error | undefined)?.message ?? 'aborted') : (err as Error).message
    return { status: 0, body: {}, headers: null, error: reason, aborted: reason === 'client abort' }
  } finally {
    clearTimeout(timer)
    if (abort !== undefined) clearTimeout(abort)
  }
}

export interface Player { username: string, password: string, id: string, token: string }

export interface Product { gamename: string, gameCode: string, productId: number, productName: string, price: string }

/** What the run did to one order, and what it was told. */
export interface OrderRecord {
  index: number
  player: Player
  product: Product
  key: string
  intended: FinalStatus
  plan: { priceAsNumber: boolean, abortFirstTopup: boolean, abortFirstWebhook: boolean, concurrentPair: boolean, duplicateLater: boolean, opposite: boolean }
  topupAttempts: number
  /** Set once a 201 arrived. */
  orderId?: string
  transactionId?: string
  /** Set once a webhook for `intended` got a 200. */
  settled?: { changed: boolean }
  webhookAttempts: number
}

type Counter = Record<string, number>

export interface LoadStats {
  topup: { created: number, replayed: number, aborted: number, noAnswer: number, gaveUp: number, statuses: Counter }
  webhook: { changed: number, unchanged: number, notFound: number, conflict: number, aborted: number, noAnswer: number, gaveUp: number, statuses: Counter }
  duplicates: { sent: number, asExpected: number }
  opposites: { sent: number, asExpected: number }
  concurrentPairs: { sent: number, asExpected: number }
  midBody: number
  /** Answers that contradict the contract (each one a mismatch). */
  problems: string[]
}

export function emptyStats (): LoadStats {
  return {
    topup: { created: 0, replayed: 0, aborted: 0, noAnswer: 0, gaveUp: 0, statuses: {} },
    webhook: { changed: 0, unchanged: 0, notFound: 0, conflict: 0, aborted: 0, noAnswer: 0, gaveUp: 0, statuses: {} },
    duplicates: { sent: 0, asExpected: 0 },
    opposites: { sent: 0, asExpected: 0 },
    concurrentPairs: { sent: 0, asExpected: 0 },
    midBody: 0,
    problems: []
  }
}

const bump = (counter: Counter, status: number): void => { counter[String(status)] = (counter[String(status)] ?? 0) + 1 }

const describe = (answer: Answer): string => (answer.status === 0 ? `no answer: ${answer.error ?? '?'}` : `${answer.status} ${JSON.stringify(answer.body).slice(0, 160)}`)

/** A status a client retries: no answer, throttled or a server-side failure. */
const retryable = (status: number): boolean => status === 0 || status === 429 || status >= 500

export interface LoadOptions {
  gateway: string
  secret: string
  players: Player[]
  products: Product[]
  orders: number
  seconds: number
  concurrency: number
  seed: number
  /** Key prefix of this run's Idempotency-Keys. */
  runId: string
  /** No retry starts after this instant (ms since the epoch). */
  retryDeadline: () => number
}

export interface Load {
  records: OrderRecord[]
  stats: LoadStats
  /** Keys of the requests whose bodies were cut: none of them may create anything. */
  midBodyKeys: string[]
  /** Resolves when every order has been placed (the webhooks may still be going). */
  placed: Promise<void>
  /** Resolves when every order and every webhook has had its last answer. */
  done: Promise<void>
}

export function topupBody (product: Product, asNumber: boolean): string {
  return JSON.stringify({
    gamename: product.gamename,
    game_id: product.gameCode,
    product_name: product.productName,
    product_id: product.productId,
    // docs/DESIGN.md §2.1: a JSON number is accepted too
    product_price: asNumber ? Number(product.price) : product.price
  })
}

export function signedWebhook (secret: string, transactionId: string, status: FinalStatus): { body: string, headers: Record<string, string> } {
  const body = JSON.stringify({ transaction_id: transactionId, status })
  return { body, headers: { 'x-topup-signature': signPayload(secret, body, Math.floor(Date.now() / 1000)) } }
}

export function startLoad (options: LoadOptions): Load {
  // two generators: what each order is (drawn in order, so CHAOS_SEED repeats the same mix) and
  // the timing jitter (drawn whenever answers arrive, which no seed can make repeatable)
  const plans = rng(options.seed)
  const jitter = rng(options.seed + 1)
  const pick = <T>(items: readonly T[], random = plans): T => items[Math.floor(random() * items.length)] as T
  const chance = (p: number, random = plans): boolean => random() < p
  const between = (min: number, max: number): number => min + Math.floor(jitter() * (max - min + 1))
  // top-ups and webhooks each get half: a storm of webhook retries (a broker outage makes every
  // payment a 404 for a while) must not starve the players, nor the other way round
  const limiters = { topup: new Limiter(Math.max(1, Math.ceil(options.concurrency / 2))), webhook: new Limiter(Math.max(1, Math.floor(options.concurrency / 2))) }
  const stats = emptyStats()
  const records: OrderRecord[] = []
  const midBodyKeys: string[] = []
  const tasks: Array<Promise<void>> = []
  const backoff = (attempt: number): number => Math.min(250 * 2 ** attempt, 4000) + between(0, 250)
  const canRetry = (): boolean => Date.now() < options.retryDeadline()
  /** A call through the limiter; one whose turn comes after the deadline is not sent (the load ends on time). */
  const send = (limiter: Limiter, fn: () => Promise<Answer>): Promise<Answer> => limiter.run(async () => canRetry() ? await fn() : { status: 0, body: {}, headers: null, error: 'not sent: past the deadline', notSent: true })

  const webhook = (record: OrderRecord, status: FinalStatus, abortAfterMs?: number): Promise<Answer> => {
    const signed = signedWebhook(options.secret, record.transactionId ?? '', status)
    return send(limiters.webhook, () => call(options.gateway, 'POST', '/api/payment/webhook/', { ...signed, ...(abortAfterMs === undefined ? {} : { abortAfterMs }) }))
  }

  function countWebhook (answer: Answer): void {
    if (answer.notSent === true) return
    if (answer.aborted === true) stats.webhook.aborted++
    else if (answer.status === 0) stats.webhook.noAnswer++
    else bump(stats.webhook.statuses, answer.status)
    if (answer.status === 200) {
      if (answer.body.changed === true) stats.webhook.changed++
      else stats.webhook.unchanged++
    } else if (answer.status === 404) stats.webhook.notFound++
    else if (answer.status === 409) stats.webhook.conflict++
  }

  /** One extra webhook whose answer is known in advance (a repeat → 200 changed:false; the other status → 409). */
  async function expectAnswer (record: OrderRecord, status: FinalStatus, expected: 'unchanged' | 'conflict'): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const answer = await webhook(record, status)
      countWebhook(answer)
      record.webhookAttempts++
      if (retryable(answer.status)) {
        if (!canRetry()) {
          stats.webhook.gaveUp++
          stats.problems.push(`webhook ${status} for ${record.transactionId ?? '?'} (settled ${record.intended}): no definite answer before the deadline (last ${describe(answer)})`)
          return false
        }
        await sleep(backoff(attempt))
        continue
      }
      const ok = expected === 'unchanged'
        ? answer.status === 200 && answer.body.changed === false && answer.body.status === status
        : answer.status === 409
      if (!ok) stats.problems.push(`webhook ${status} for ${record.transactionId ?? '?'} (settled ${record.intended}): expected ${expected === 'unchanged' ? '200 changed:false' : '409'}, got ${answer.status} ${JSON.stringify(answer.body)}`)
      return ok
    }
  }

  /** The provider reports the payment until it gets a 200, then sends the planned extras. */
  async function pay (record: OrderRecord): Promise<void> {
    await sleep(between(0, 1500))
    for (let attempt = 0; record.settled === undefined; attempt++) {
      let answers: Answer[]
      if (attempt === 0 && record.plan.abortFirstWebhook) {
        answers = [await webhook(record, record.intended, between(1, 20))]
      } else if (attempt === 0 && record.plan.concurrentPair) {
        stats.concurrentPairs.sent++
        answers = await Promise.all([webhook(record, record.intended), webhook(record, record.intended)])
        // two at once: at most one of them moves the transaction (a 404 or no answer leaves nothing to compare)
        if (answers.every((a) => a.status === 200 && a.body.changed === true)) {
          stats.problems.push(`two concurrent webhooks for ${record.transactionId ?? '?'} both answered changed:true`)
        } else {
          stats.concurrentPairs.asExpected++
        }
      } else {
        answers = [await webhook(record, record.intended)]
      }
      for (const answer of answers) {
        countWebhook(answer)
        record.webhookAttempts++
        if (answer.status === 200 && answer.body.status === record.intended) record.settled = { changed: answer.body.changed === true }
        else if (answer.status === 409) stats.problems.push(`webhook ${record.intended} for ${record.transactionId ?? '?'}: 409 although nothing else was reported for it (${JSON.stringify(answer.body)})`)
        else if (!retryable(answer.status) && answer.status !== 404 && answer.status !== 200) {
          stats.problems.push(`webhook ${record.intended} for ${record.transactionId ?? '?'}: unexpected ${answer.status} ${JSON.stringify(answer.body)}`)
        }
      }
      if (record.settled !== undefined) break
      if (answers.some((a) => a.status === 409 || (!retryable(a.status) && a.status !== 404))) return
      if (!canRetry()) {
        stats.webhook.gaveUp++
        stats.problems.push(`webhook ${record.intended} for ${record.transactionId ?? '?'}: no 200 before the deadline after ${record.webhookAttempts} attempts (last ${answers.map(describe).join(', ')})`)
        return
      }
      // 404: the transaction is not known yet (its OrderCreated is on its way): later, like a provider
      await sleep(answers.some((a) => a.status === 404) ? Math.min(1000 * 2 ** Math.min(attempt, 4), 10_000) + between(0, 500) : backoff(attempt))
    }
    if (record.plan.duplicateLater) {
      await sleep(between(0, 3000))
      stats.duplicates.sent++
      if (await expectAnswer(record, record.intended, 'unchanged')) stats.duplicates.asExpected++
    }
    if (record.plan.opposite) {
      await sleep(between(0, 3000))
      stats.opposites.sent++
      if (await expectAnswer(record, record.intended === 'success' ? 'failed' : 'success', 'conflict')) stats.opposites.asExpected++
    }
  }

  async function order (record: OrderRecord): Promise<void> {
    const body = topupBody(record.product, record.plan.priceAsNumber)
    for (let attempt = 0; ; attempt++) {
      const abortAfterMs = attempt === 0 && record.plan.abortFirstTopup ? between(1, 20) : undefined
      const answer = await send(limiters.topup, () => call(options.gateway, 'POST', '/api/topup/', {
        token: record.player.token,
        body,
        headers: { 'idempotency-key': record.key },
        ...(abortAfterMs === undefined ? {} : { abortAfterMs })
      }))
      if (answer.notSent !== true) {
        record.topupAttempts++
        if (answer.aborted === true) stats.topup.aborted++
        else if (answer.status === 0) stats.topup.noAnswer++
        else bump(stats.topup.statuses, answer.status)
      }
      if (answer.status === 201) {
        const orderId = answer.body.order_id
        const transactionId = answer.body.transaction_id
        if (typeof orderId !== 'string' || typeof transactionId !== 'string') {
          stats.problems.push(`topup ${record.key}: 201 without ids: ${JSON.stringify(answer.body)}`)
          return
        }
        if (answer.headers?.get('idempotent-replayed') === 'true') stats.topup.replayed++
        else stats.topup.created++
        record.orderId = orderId
        record.transactionId = transactionId
        break
      }
      if (!retryable(answer.status)) {
        stats.problems.push(`topup ${record.key}: unexpected ${answer.status} ${JSON.stringify(answer.body)}`)
        return
      }
      if (!canRetry()) {
        stats.topup.gaveUp++
        stats.problems.push(`topup ${record.key}: no 201 before the deadline after ${record.topupAttempts} attempts (last ${describe(answer)})`)
        return
      }
      await sleep(backoff(attempt))
    }
    await pay(record)
  }

  /** A top-up whose body stops half-way, then the socket goes (closed or reset). */
  function midBody (player: Player, product: Product): Promise<void> {
    const key = `${options.runId}-midbody-${randomBytes(6).toString('hex')}`
    midBodyKeys.push(key)
    stats.midBody++
    const body = topupBody(product, false)
    const url = new URL(options.gateway)
    const reset = chance(0.5, jitter)
    const wait = between(1, 40)
    return new Promise((resolve) => {
      const socket = connect({ host: url.hostname, port: Number(url.port) }, () => {
        socket.write(`POST /api/topup/ HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${player.token}\r\nContent-Type: application/json\r\n` +
          `Idempotency-Key: ${key}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, Math.floor(body.length / 2))}`)
        setTimeout(() => { if (reset) socket.resetAndDestroy(); else socket.destroy() }, wait)
      })
      socket.on('error', () => {})
      socket.on('close', () => { resolve() })
    })
  }

  const placed = (async () => {
    const start = Date.now()
    const interval = (options.seconds * 1000) / options.orders
    let nextMidBody = start
    for (let i = 0; i < options.orders; i++) {
      const due = start + i * interval
      const wait = due - Date.now()
      if (wait > 0) await sleep(wait)
      const record: OrderRecord = {
        index: i,
        player: pick(options.players),
        product: pick(options.products),
        key: `${options.runId}-order-${i}`,
        intended: chance(0.7) ? 'success' : 'failed',
        plan: {
          priceAsNumber: chance(0.1),
          abortFirstTopup: chance(0.05),
          abortFirstWebhook: chance(0.05),
          concurrentPair: chance(0.05),
          duplicateLater: chance(0.15),
          opposite: chance(0.1)
        },
        topupAttempts: 0,
        webhookAttempts: 0
      }
      records.push(record)
      tasks.push(order(record).catch((err: unknown) => { stats.problems.push(`order ${record.key}: ${(err as Error).stack ?? String(err)}`) }))
      // about two cut bodies a second
      if (Date.now() >= nextMidBody) {
        nextMidBody = Date.now() + 500
        tasks.push(midBody(pick(options.players, jitter), pick(options.products, jitter)))
      }
    }
  })()

  const done = (async () => {
    await placed
    await Promise.all(tasks)
  })()

  return { records, stats, midBodyKeys, placed, done }
}
