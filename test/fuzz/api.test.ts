/**
 * Property-based fuzzing of every public operation, generated from the
 * OpenAPI document the gateway publishes (GET /api/schema/), against the whole
 * platform in this process (test/system/harness.ts: real ports, PostgreSQL,
 * RabbitMQ).
 *
 * Phase 1, refused requests: requests the contract says must be refused (no
 * or bad token, a player on a staff route, bad webhook signatures, one thing
 * broken against the schema with the right credential). Each batch must get
 * only 4xx — the promised one where the contract names it — and must leave
 * every table of every service's database exactly as it was (row counts and
 * a checksum of the rows; only the webhook audit may grow, by design).
 *
 * Phase 2, documented requests with any credential: any answer but a 5xx
 * (these may change data; they run after phase 1 so its check stays exact).
 *
 * In both: never a 5xx, never a hang (5 s per request), every 4xx has the
 * docs/DESIGN.md §2 error body; afterwards every service and the gateway still answer
 * and a real order still goes through end to end.
 *
 * Seed: printed first; FUZZ_SEED=<n> replays a run (see fuzz-config.ts).
 */
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import fc from 'fast-check'
import { sql, type Kysely } from 'kysely'
import t, { type Test } from 'tap'
import { mapLimit, type System } from '../system/harness.js'
import { signPayload } from '../../services/payments/dist/src/signature.js'
import { integerFromEnv, replayedRun, replayHint, runParameters, SEED, SHRINK } from './fuzz-config.js'
import { operationsOf, RequestFactory, undocumentedMethods, type GeneratedRequest, type OpenApiDocument, type Operation, type Pools, type Signer } from './operations.js'
import { databasesOf, healthProblems, quiescent, STAFF, startPlatform } from './platform.js'
import { answerProblems, clip, closeAgent, describe, HEAD_LIMIT_BYTES, headBytes, printable, send, type FuzzResponse } from './send.js'
import { differences, snapshot, type Snapshot } from './snapshot.js'
import { credentialArbitraries, makeSigningMaterial } from './tokens.js'

/** Requests per batch (one batch = one property run, and one database comparison in phase 1). */
const BATCH = integerFromEnv('FUZZ_BATCH', 16)
/** How many of a batch are in flight at once. */
const CONCURRENCY = integerFromEnv('FUZZ_CONCURRENCY', 8)
/**
 * Batches per phase: 4,000 refused and 2,000 documented requests, about 40 s
 * on 2 cores with nothing else running (twice that when the rest of
 * `npm test` runs alongside).
 */
const REJECTED_RUNS = integerFromEnv('FUZZ_REJECTED_RUNS', 250)
const ACCEPTED_RUNS = integerFromEnv('FUZZ_ACCEPTED_RUNS', 125)

t.comment(`fuzz seed ${SEED} (${replayHint('rejected')})`)
console.log(`# api fuzz: seed ${SEED}, ${REJECTED_RUNS}×${BATCH} refused + ${ACCEPTED_RUNS}×${BATCH} documented requests`)

/** Per operation: how many requests got each status. */
class Tally {
  private readonly counts = new Map<string, Map<number, number>>()
  private readonly slow: Array<{ ms: number, what: string }> = []
  total = 0
  add (operation: string, status: number, ms = 0, what = ''): void {
    this.slow.push({ ms, what })
    this.slow.sort((a, b) => b.ms - a.ms)
    this.slow.length = Math.min(this.slow.length, 3)
    const row = this.counts.get(operation) ?? new Map<number, number>()
    row.set(status, (row.get(status) ?? 0) + 1)
    this.counts.set(operation, row)
    this.total++
  }

  of (operation: string): number { return [...(this.counts.get(operation)?.values() ?? [])].reduce((a, b) => a + b, 0) }
  slowest (): string { return this.slow.map((s) => `${s.ms} ms: ${s.what.slice(0, 300)}`).join('\n') }
  table (): string {
    return [...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b))
      .map(([op, row]) => `${op.padEnd(36)} ${[...row.entries()].sort(([a], [b]) => a - b).map(([s, n]) => `${s === 0 ? 'reset' : s === -1 ? 'no answer' : s}×${n}`).join(' ')}`).join('\n')
  }
}

function makeSigner (secret: string): Signer {
  return {
    sign (raw, how) {
      const now = Math.floor(Date.now() / 1000)
      const bytes = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw)
      switch (how) {
        case 'valid': return signPayload(secret, bytes, now)
        case 'none': return undefined
        case 'stale': return signPayload(secret, bytes, now - 400)
        case 'future': return signPayload(secret, bytes, now + 400)
        case 'wrong secret': return signPayload(`${secret}x`, bytes, now)
        case 'other body': return signPayload(secret, Buffer.concat([bytes, Buffer.from(' ')]), now)
        case 'malformed': return `t=${now},v1=${'z'.repeat(64)}`
        case 'no v1': return `t=${now}`
        case 'uppercase t': return signPayload(secret, bytes, now).replace('t=', 'T=').replace('v1=', 'V1=')
      }
    }
  }
}

/** A phase stops once this many batches have failed (on a platform that hangs each costs 5 s, and tap gives the file 180 s). */
const MAX_FAILED_BATCHES = 8

/**
 * The failing batches of a property. The run goes on past them (a first bug
 * must not hide the next; each is reported with the FUZZ_PATH that replays
 * it), except with FUZZ_SHRINK=1, where the first one throws for fast-check
 * to shrink.
 */
class Findings {
  private run: number
  readonly failed: Array<{ run: number, problems: string[] }> = []
  constructor (private readonly property: string) { this.run = replayedRun(property) }

  /** The index of the run about to start. */
  next (): number { return this.run++ }

  record (run: number, problems: string[]): void {
    if (problems.length === 0) return
    if (SHRINK) throw new Error(problems.join('\n'))
    this.failed.push({ run, problems })
    if (this.failed.length >= MAX_FAILED_BATCHES) throw new Error(`stopped after ${MAX_FAILED_BATCHES} failing batches`)
  }

  report (): string {
    return this.failed.map(({ run, problems }) => {
      const text = problems.join('\n')
      return `batch ${run} (${replayHint(this.property, String(run))}):\n${text.length > 4000 ? `${text.slice(0, 4000)}...` : text}`
    }).join('\n\n')
  }
}

/** Why a property failed: our own message, or fast-check's report (too many skips, interrupted). */
function failureOf<T> (details: fc.RunDetails<T>): string {
  return printable(details.errorInstance instanceof Error ? details.errorInstance.message : fc.defaultReportMessage(details) ?? 'failed')
}

/** Every problem with one answer to a generated request. */
function problemsOf (generated: GeneratedRequest, res: FuzzResponse, phase: 'rejected' | 'accepted'): string[] {
  const problems = res.status === 0 ? [] : answerProblems(generated.request, res)
  const { request, expect, forbid } = generated
  if (phase === 'rejected' && res.status !== 0 && (res.status < 400 || res.status >= 500)) {
    problems.push(`${res.status} for a request the contract refuses: ${describe(request)}: ${clip(res.text)}`)
  }
  // past Node's 16 KiB limit on the request line and headers, 431 comes first whatever the request
  if (expect !== undefined && !expect.includes(res.status) && !(res.status === 431 && headBytes(request) > HEAD_LIMIT_BYTES - 2048)) {
    problems.push(`${res.status === 0 ? 'connection reset' : res.status}, expected ${expect.join(' or ')}: ${describe(request)}: ${clip(res.text)}`)
  }
  if (forbid?.includes(res.status) === true) problems.push(`${res.status} with a valid token of the right kind: ${describe(request)}: ${clip(res.text)}`)
  return problems
}

interface Fixtures {
  player: { username: string, password: string, access: string, refresh: string[] }
  staffAccess: string
  orders: Array<{ order_id: string, transaction_id: string }>
  pools: Pools
}

interface Catalog { id: number, name: string, game_id: string, products: Array<{ id: number, name: string, price: string }> }

/** Top-up bodies for every active product, as the catalog is now. */
async function currentTopups (system: System): Promise<Array<Record<string, unknown>>> {
  const games = await system.http<Catalog[]>('GET', '/api/games/')
  if (games.status !== 200) throw new Error(`GET /api/games/: ${games.status} ${games.text}`)
  return games.body.flatMap((g) => g.products.map((p) => ({ gamename: g.name, game_id: g.game_id, product_name: p.name, product_id: p.id, product_price: p.price })))
}

async function fixtures (system: System): Promise<Fixtures> {
  const username = `fuzz_${randomBytes(4).toString('hex')}`
  const registered = await system.register(username)
  const first = await system.login(username)
  const second = await system.login(username)
  const staff = await system.http<{ access: string }>('POST', '/api/token/', { body: { username: STAFF.STAFF_USERNAME, password: STAFF.STAFF_PASSWORD } })
  if (staff.status !== 200) throw new Error(`staff login: ${staff.status} ${staff.text}`)

  const games = await system.http<Catalog[]>('GET', '/api/games/')
  if (games.status !== 200 || games.body.length === 0) throw new Error(`GET /api/games/: ${games.status} ${games.text}`)
  const topups = await currentTopups(system)

  const orders: Fixtures['orders'] = []
  for (const body of topups.slice(0, 4)) {
    const res = await system.topup(first.access, body)
    if (res.status !== 201) throw new Error(`fixture top-up: ${res.status} ${res.text}`)
    orders.push({ order_id: res.body.order_id, transaction_id: res.body.transaction_id })
  }
  // payments must know the transactions before the webhook can find them
  const payments = system.payments[0]
  if (payments === undefined) throw new Error('no payments instance')
  await system.waitFor(async () => {
    const rows = await payments.db.selectFrom('transactions').select('transaction_id').execute()
    return orders.every((o) => rows.some((r) => r.transaction_id === o.transaction_id))
  }, { timeoutMs: 15_000, what: 'payments to record the fixture transactions' })
  const settled = orders[0]
  if (settled !== undefined) {
    const paid = await system.pay(settled.transaction_id, 'success')
    if (paid.status !== 200) throw new Error(`fixture webhook: ${paid.status} ${paid.text}`)
  }

  // PATCH gets a game and a product of its own, so the demo catalog the
  // top-ups use stays mostly as it is (generated ids still hit it now and then)
  const code = `fzp${randomBytes(3).toString('hex')}`
  const target = await system.http<{ id: number }>('POST', '/api/games/', { token: staff.body.access, body: { name: `Patch target ${code}`, game_id: code, is_active: true } })
  const targetProduct = await system.http<{ id: number }>('POST', '/api/products/', { token: staff.body.access, body: { game: target.body.id, name: 'Patch target pack', price: '1.00', in_game_currency: 1 } })
  if (target.status !== 201 || targetProduct.status !== 201) throw new Error(`patch targets: ${target.status} ${target.text} / ${targetProduct.status} ${targetProduct.text}`)
  const gameIds = games.body.map((g) => g.id)
  const refresh = [first.refresh, second.refresh]
  const values: Pools['values'] = {
    'GET /api/orders/{id} path.id': orders.map((o) => o.order_id),
    'PATCH /api/games/{id} path.id': [String(target.body.id)],
    'PATCH /api/products/{id} path.id': [String(targetProduct.body.id)],
    'POST /api/products/ body.game': gameIds,
    'PATCH /api/products/{id} body.game': [target.body.id],
    'POST /api/payment/webhook/ body.transaction_id': orders.map((o) => o.transaction_id),
    'POST /api/token/ body.username': [username, STAFF.STAFF_USERNAME],
    'POST /api/token/ body.password': [registered.password],
    'POST /api/token/refresh/ body.refresh': refresh,
    'POST /api/logout/ body.refresh': refresh
  }
  return {
    player: { username, password: registered.password, access: first.access, refresh },
    staffAccess: staff.body.access,
    orders,
    pools: { values, bodies: { 'POST /api/topup/': topups } }
  }
}

t.test('fuzzed requests from the published OpenAPI document: no 5xx, no hang, the error shape, and refused requests change nothing', async (t) => {
  const started = Date.now()
  const material = makeSigningMaterial()
  const system = await startPlatform(t, material)
  t.teardown(closeAgent)
  const dbs = databasesOf(system)

  const schemaRes = await system.http<OpenApiDocument>('GET', '/api/schema/')
  t.equal(schemaRes.status, 200, 'GET /api/schema/ → 200')
  const operations: Operation[] = operationsOf(schemaRes.body)
  t.ok(operations.length >= 19, `the document lists ${operations.length} operations`)

  const fx = await fixtures(system)
  const credentials = credentialArbitraries({ material, playerToken: fx.player.access, staffToken: fx.staffAccess, issuer: 'topup-auth', audience: 'topup-platform' })
  const signer = makeSigner(system.webhookSecret)
  const factory = new RequestFactory(fx.pools)
  /**
   * Sends a batch; each request's own problems, and when any got no answer
   * (a hang or a broken connection) the whole batch too: a neighbour may be
   * what broke it.
   */
  const sendBatch = async (batch: GeneratedRequest[], phase: 'rejected' | 'accepted', tally: Tally, seen?: (g: GeneratedRequest, res: FuzzResponse) => void): Promise<string[]> => {
    const results = await mapLimit(batch, CONCURRENCY, async (g) => await send(system.url, g.request).catch((err: unknown) => err instanceof Error ? err : new Error(String(err))))
    const problems: string[] = []
    results.forEach((res, i) => {
      const g = batch[i] as GeneratedRequest
      if (res instanceof Error) {
        tally.add(g.request.operation, -1)
        problems.push(res.message)
        return
      }
      tally.add(g.request.operation, res.status, res.ms, describe(g.request))
      seen?.(g, res)
      problems.push(...problemsOf(g, res, phase))
    })
    if (results.some((r) => r instanceof Error)) {
      const lines = batch.map((g, i) => { const r = results[i]; return `${r instanceof Error ? 'no answer' : `${r?.status} in ${r?.ms} ms`} ← ${describe(g.request)}` })
      problems.push(`the batch, sent ${CONCURRENCY} at a time:\n  ${lines.join('\n  ')}`)
    }
    return problems
  }

  // ---------------------------------------------------------------- phase 1
  const rejectedByOp = operations.map((op) => [op, factory.rejected(op, credentials, signer)] as const)
  const unfuzzable = rejectedByOp.filter(([, arb]) => arb === undefined).map(([op]) => op.key)
  t.comment(`operations with nothing to refuse (open reads without parameters; phase 2 only): ${unfuzzable.join(', ') || 'none'}`)
  const rejectedArbs = rejectedByOp.flatMap(([, arb]) => arb === undefined ? [] : [arb])
  const undocumented = undocumentedMethods(operations, credentials)
  // each operation one share, the undocumented methods together one more
  const phase1Arb = fc.oneof(...rejectedArbs, fc.oneof(...undocumented))
  const refused = new Tally()
  const phase1Started = Date.now()
  let before: Snapshot = await quiescent(dbs, 'after the fixtures')
  t.same(await snapshotNotices(dbs, before), { changed: true, restored: true }, 'the database comparison notices a one-column change, and its undoing')
  let webhookCallsAppended = 0
  const findings1 = new Findings('rejected')
  const phase1 = await fc.check(fc.asyncProperty(fc.array(phase1Arb, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
    const run = findings1.next()
    const problems: string[] = []
    try {
      problems.push(...await sendBatch(batch, 'rejected', refused))
    } finally {
      // always, so the next run compares with what is there now
      const after = await snapshot(dbs, before)
      const { changed, appended } = differences(before, after)
      before = after
      const webhooks = batch.filter((g) => g.request.operation === 'POST /api/payment/webhook/').length
      const calls = appended['payments.webhook_calls'] ?? 0
      webhookCallsAppended += calls
      if (calls > webhooks) changed.push(`payments.webhook_calls: ${calls} rows for ${webhooks} webhook calls`)
      if (changed.length > 0) problems.push(`data changed by a batch of refused requests (${changed.join('; ')}); the batch:\n  ${batch.map((g) => describe(g.request)).join('\n  ')}`)
    }
    findings1.record(run, problems)
  }), runParameters('rejected', REJECTED_RUNS))
  t.comment(`set-up ${((phase1Started - started) / 1000).toFixed(1)} s; phase 1 (refused): ${refused.total} requests in ${((Date.now() - phase1Started) / 1000).toFixed(1)} s; webhook audit rows appended: ${webhookCallsAppended}\n${refused.table()}\nslowest:\n${refused.slowest()}`)
  t.notOk(phase1.failed, phase1.failed ? `refused requests (${replayHint('rejected', phase1.counterexamplePath ?? undefined)}):\n${failureOf(phase1)}` : 'the refused requests ran to the end')
  t.same(findings1.failed.length, 0, findings1.failed.length > 0
    ? printable(`${findings1.failed.length} of ${REJECTED_RUNS} batches of refused requests failed:\n${findings1.report()}`)
    : `${refused.total} refused requests: every one a 4xx with the error body (the promised status where the contract names one), no data changed`)
  // every operation had its share (a quarter of an even split at least)
  const share = (total: number, n: number): number => Math.floor(total / n / 4)
  for (const [op, arb] of rejectedByOp) {
    if (arb !== undefined) t.ok(refused.of(op.key) >= share(refused.total, rejectedArbs.length + 1), `${op.key}: ${refused.of(op.key)} refused requests sent`)
  }

  // ---------------------------------------------------------------- phase 2
  const phase2Started = Date.now()
  const accepted = new Tally()
  const acceptedArbs = operations.map((op) => factory.accepted(op, credentials, signer))
  const findings2 = new Findings('accepted')
  const phase2 = await fc.check(fc.asyncProperty(fc.array(fc.oneof(...acceptedArbs), { minLength: BATCH, maxLength: BATCH }), async (batch) => {
    const run = findings2.next()
    // the catalog as it is now (phase 2 renames and deactivates games), and
    // the orders this phase places for the webhook and GET /api/orders/{id}
    const topups = fx.pools.bodies['POST /api/topup/'] ?? []
    const fresh = await currentTopups(system)
    if (fresh.length > 0) topups.splice(0, topups.length, ...fresh)
    const problems = await sendBatch(batch, 'accepted', accepted, (g, res) => {
      if (g.request.operation !== 'POST /api/topup/' || res.status !== 201) return
      const order = JSON.parse(res.text) as { order_id: string, transaction_id: string }
      fx.pools.values['GET /api/orders/{id} path.id']?.push(order.order_id)
      fx.pools.values['POST /api/payment/webhook/ body.transaction_id']?.push(order.transaction_id)
    })
    findings2.record(run, problems)
  }), runParameters('accepted', ACCEPTED_RUNS))
  t.comment(`phase 2 (documented): ${accepted.total} requests in ${((Date.now() - phase2Started) / 1000).toFixed(1)} s\n${accepted.table()}\nslowest:\n${accepted.slowest()}`)
  t.notOk(phase2.failed, phase2.failed ? `documented requests (${replayHint('accepted', phase2.counterexamplePath ?? undefined)}):\n${failureOf(phase2)}` : 'the documented requests ran to the end')
  t.same(findings2.failed.length, 0, findings2.failed.length > 0
    ? printable(`${findings2.failed.length} of ${ACCEPTED_RUNS} batches of documented requests failed:\n${findings2.report()}`)
    : `${accepted.total} documented requests with every kind of credential: no 5xx, no hang, every 4xx with the error body`)
  for (const op of operations) t.ok(accepted.of(op.key) >= share(accepted.total, operations.length), `${op.key}: ${accepted.of(op.key)} documented requests sent`)

  // ---------------------------------------------------------------- afterwards
  await quiescent(dbs, 'after the fuzzing')
  t.same(await healthProblems(system), [], 'every service answers /health and the gateway still proxies')
  await endToEnd(t, system, fx)
  const logs = system.allLogs()
  // FUZZ_LOG_FILE=<path>: every service's log lines of this run, for a failure's post-mortem
  if (process.env.FUZZ_LOG_FILE !== undefined) writeFileSync(process.env.FUZZ_LOG_FILE, logs)
  const errors = logs.split('\n').filter((line) => /"level":(50|60)/.test(line))
  // a refused or odd request is the client's problem, never an ERROR of the server's
  t.same(errors.map((l) => l.slice(0, 1500)).slice(0, 5), [], `no error-level log lines (${errors.length})`)
  t.comment(`total ${refused.total + accepted.total} requests, ${((Date.now() - started) / 1000).toFixed(1)} s, seed ${SEED}`)
})

/**
 * The comparison can fail: one product's currency amount changed is seen as a
 * change, and changed back is equal again.
 */
async function snapshotNotices (dbs: Record<string, Kysely<unknown>>, base: Snapshot): Promise<{ changed: boolean, restored: boolean }> {
  const orders = dbs.orders
  if (orders === undefined) throw new Error('no orders database')
  await sql`UPDATE products SET in_game_currency = in_game_currency || '+' WHERE id = (SELECT min(id) FROM products)`.execute(orders)
  const changed = differences(base, await snapshot(dbs, base)).changed.length > 0
  await sql`UPDATE products SET in_game_currency = left(in_game_currency, -1) WHERE id = (SELECT min(id) FROM products)`.execute(orders)
  const restored = differences(base, await snapshot(dbs, base)).changed.length === 0
  return { changed, restored }
}

/** A fresh game and product, an order for it, its payment: the platform still works end to end. */
async function endToEnd (t: Test, system: System, fx: Fixtures): Promise<void> {
  const code = `fz${randomBytes(4).toString('hex')}`
  const game = await system.http<{ id: number }>('POST', '/api/games/', { token: fx.staffAccess, body: { name: `Fuzz ${code}`, game_id: code, is_active: true } })
  t.equal(game.status, 201, `afterwards: staff create a game (${clip(game.text, 200)})`)
  const product = await system.http<{ id: number }>('POST', '/api/products/', { token: fx.staffAccess, body: { game: game.body.id, name: 'Fuzz Pack', price: '12.34', in_game_currency: 100 } })
  t.equal(product.status, 201, `afterwards: staff create a product (${clip(product.text, 200)})`)
  const order = await system.topup(fx.player.access, { gamename: `Fuzz ${code}`, game_id: code, product_name: 'Fuzz Pack', product_id: product.body.id, product_price: '12.34' })
  t.equal(order.status, 201, `afterwards: a player orders it (${clip(order.text, 200)})`)
  const payments = system.payments[0]
  if (payments === undefined) throw new Error('no payments instance')
  await system.waitFor(async () => (await payments.db.selectFrom('transactions').select('transaction_id').where('transaction_id', '=', order.body.transaction_id).executeTakeFirst()) !== undefined,
    { timeoutMs: 15_000, what: 'payments to record the new transaction' })
  const paid = await system.pay(order.body.transaction_id, 'success')
  t.equal(paid.status, 200, 'afterwards: its payment is accepted')
  const seen = await system.waitFor(async () => {
    const res = await system.http<{ status: string }>('GET', `/api/orders/${order.body.order_id}`, { token: fx.player.access })
    return res.body.status === 'success' ? res : undefined
  }, { timeoutMs: 15_000, what: 'the order to become success' })
  t.equal(seen.status, 200, 'afterwards: the order is paid')
}
