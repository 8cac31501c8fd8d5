/**
 * Malformed and hostile HTTP at the socket level against the gateway of the
 * whole platform (test/system/harness.ts, in this process): pipelined garbage
 * (the issue-9 crash), garbage request lines, oversized headers, broken
 * chunked encoding, wrong Content-Length, smuggling attempts, resets mid-body
 * and mid-response, slow clients, Expect: 100-continue, HTTP/1.0 and
 * Connection: close.
 *
 * After each: the gateway still answers (public port and admin listener),
 * every service behind it answers its /health, nothing answered a 5xx, and at
 * the end no service logged an error for any of it.
 *
 * The gateway runs with short client time limits (HEADERS_TIMEOUT_MS,
 * REQUEST_TIMEOUT_MS, KEEP_ALIVE_TIMEOUT_MS, IDLE_TIMEOUT_MS) so the slow
 * clients are cut within the test's time. Seed: printed first, FUZZ_SEED
 * replays (fuzz-config.ts).
 */
import { randomBytes } from 'node:crypto'
import fc from 'fast-check'
import { sql } from 'kysely'
import t, { type Test } from 'tap'
import { demoTopup, mapLimit } from '../system/harness.js'
import { replayHint, runParameters, SEED } from './fuzz-config.js'
import { healthProblems, startPlatform } from './platform.js'
import { exchange, summary, type Exchange, type Step } from './raw-http.js'
import { makeSigningMaterial, signAccessToken } from './tokens.js'

const LIMITS = { HEADERS_TIMEOUT_MS: 600, REQUEST_TIMEOUT_MS: 2000, KEEP_ALIVE_TIMEOUT_MS: 1500, IDLE_TIMEOUT_MS: 3000 }
/** What a time limit may overrun by: Node checks them every quarter of the headers limit, plus scheduling on a busy machine. */
const SLACK_MS = 1500

t.comment(`socket fuzz seed ${SEED} (${replayHint('<property>')})`)

const material = makeSigningMaterial()
const system = await startPlatform(t, material, Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])))
const port = Number(new URL(system.url).port)
const player = signAccessToken(material, { sub: '44444444-4444-4444-8444-444444444444', username: 'socket_player', email: 'socket_player@players.test', staff: false })
const staff = signAccessToken(material, { sub: '55555555-5555-4555-8555-555555555555', username: 'socket_staff', email: 'socket_staff@topup.test', staff: true })

const topupBody = JSON.stringify(demoTopup)
/** Whole, valid requests of several kinds (a read, a refused login, a top-up, the big schema document). */
const VALID: Record<string, string> = {
  games: 'GET /api/games/ HTTP/1.1\r\nHost: x\r\n\r\n',
  schema: 'GET /api/schema/ HTTP/1.1\r\nHost: x\r\n\r\n',
  register400: 'POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
  topup: `POST /api/topup/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${player}\r\nContent-Type: application/json\r\nContent-Length: ${topupBody.length}\r\n\r\n${topupBody}`,
  profile401: 'GET /api/profile/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\n\r\n'
}

/** Every 5xx in an exchange (none is acceptable: a client's bytes are never the server's failure). */
function serverErrors (x: Exchange): number[] {
  return x.responses.map((r) => r.status).filter((s) => s >= 500)
}

/** The platform is whole: health everywhere and the gateway proxying. */
async function assertHealthy (t: Test, after: string): Promise<void> {
  const problems = await healthProblems(system)
  t.same(problems, [], `after ${after}: the gateway and every service still answer`)
}

/** The connection ended (by the server) within `ms`. */
function closedWithin (t: Test, x: Exchange, ms: number, what: string): void {
  t.ok(x.closedByServer && (x.closedAtMs ?? Infinity) <= ms, `${what}: the server closes the connection within ${ms} ms (${summary(x)})`)
}

t.test('the issue-9 reproduction: a valid request pipelined with garbage, while the first is still upstream', async (t) => {
  const payload = 'GET /api/games/ HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n'
  const results = await Promise.all(Array.from({ length: 20 }, async () => await exchange(port, [payload], { waitMs: 3000 })))
  t.same(results.flatMap(serverErrors), [], `no 5xx on any of the 20 connections (${summary(results[0] as Exchange)}, …)`)
  t.same(results.filter((x) => !x.closedByServer).map(summary), [], 'the garbage ends each of the 20 connections')
  // the upstream's answers arrive for clients that are gone
  await new Promise((resolve) => setTimeout(resolve, 500))
  await assertHealthy(t, '20 pipelined valid+garbage connections')
})

t.test('fuzzed pipelines: valid requests then garbage, in random pieces', async (t) => {
  const garbage = fc.oneof(
    fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `${s}\r\n\r\n`),
    fc.constantFrom('GARBAGE\r\n\r\n', '\r\n\r\n\r\n', 'GET / HTTP/1.1\r\n\r\n', 'GET /api/games/ HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nab',
      'POST /api/topup/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'GET /api/games/ HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n', '\u0000\u0000\u0000\u0000')
  )
  const pipeline = fc.record({
    valid: fc.array(fc.constantFrom(...Object.keys(VALID)), { minLength: 1, maxLength: 4 }),
    garbage,
    cuts: fc.array(fc.nat(), { maxLength: 4 }),
    resetAfterMs: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined })
  })
  const seen: string[] = []
  const details = await fc.check(fc.asyncProperty(pipeline, async ({ valid, garbage, cuts, resetAfterMs }) => {
    const bytes = Buffer.from(valid.map((k) => VALID[k]).join('') + garbage, 'latin1')
    const points = [...new Set(cuts.map((c) => c % bytes.length))].sort((a, b) => a - b)
    const steps: Step[] = []
    let at = 0
    for (const p of [...points, bytes.length]) {
      if (p > at) steps.push(bytes.subarray(at, p), { pause: 2 })
      at = p
    }
    if (resetAfterMs !== undefined) steps.push({ pause: resetAfterMs }, { reset: true })
    const x = await exchange(port, steps, { waitMs: 1200 })
    seen.push(summary(x))
    const errors = serverErrors(x)
    if (errors.length > 0) throw new Error(`5xx for ${valid.join('+')}+garbage ${JSON.stringify(garbage.slice(0, 80))}: ${summary(x)}`)
    const problems = await healthProblems(system)
    if (problems.length > 0) throw new Error(`after ${valid.join('+')}+garbage ${JSON.stringify(garbage.slice(0, 80))} (${summary(x)}): ${problems.join('; ')}`)
  }), runParameters('pipelines', 40))
  t.notOk(details.failed, details.failed ? `${replayHint('pipelines', details.counterexamplePath ?? undefined)}: ${details.errorInstance instanceof Error ? details.errorInstance.message : 'failed'}` : `${details.numRuns} fuzzed pipelines: no 5xx, the platform whole after each`)
  t.ok(seen.length >= 40, `${seen.length} pipelines sent`)
})

t.test('garbage request lines and headers', async (t) => {
  const lines = fc.oneof(
    fc.constantFrom('GET / HTTP/9.9\r\n\r\n', 'GET  HTTP/1.1\r\n\r\n', 'GET /api/games/ HTTP/1.1\nHost: x\n\n', 'GET /api/games/ HTTP/1.1\r\nHost x\r\n\r\n',
      'GET /api/games/ HTTP/1.1\r\nHo st: x\r\n\r\n', 'GET /api/games/ HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', 'GET /api/games/ HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n',
      `${'A'.repeat(5000)} / HTTP/1.1\r\n\r\n`, 'GET /api/\u0000games/ HTTP/1.1\r\n\r\n', 'GET /api/games/\u00ff HTTP/1.1\r\nHost: x\r\n\r\n', 'CONNECT 127.0.0.1:22 HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\nHost: x\r\n\r\n', 'GET * HTTP/1.1\r\nHost: x\r\n\r\n', 'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      '\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003', 'GET /api/games/ HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 'GET /%%%% HTTP/1.1\r\nHost: x\r\n\r\n'),
    fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
    fc.tuple(fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'BREW', 'get'), fc.string({ unit: 'binary-ascii', maxLength: 40 }), fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'http/1.1', 'HTTP/1.1 x', ''))
      .map(([m, path, v]) => `${m} /api/${path} ${v}\r\nHost: x\r\n\r\n`)
  )
  const statuses = new Map<number, number>()
  let sent = 0
  // sixteen connections at a time: an incomplete one waits for the headers time limit
  const details = await fc.check(fc.asyncProperty(fc.array(lines, { minLength: 16, maxLength: 16 }), async (batch) => {
    const results = await Promise.all(batch.map(async (line) => await exchange(port, [line], { waitMs: LIMITS.HEADERS_TIMEOUT_MS + SLACK_MS })))
    sent += batch.length
    results.forEach((x, i) => {
      for (const r of x.responses) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
      // 505 (HTTP Version Not Supported) is the one 5xx a malformed request may get: it names the client's fault
      const errors = serverErrors(x).filter((s) => s !== 505)
      if (errors.length > 0) throw new Error(`5xx for ${JSON.stringify(batch[i]?.slice(0, 200))}: ${summary(x)}`)
    })
  }), runParameters('garbage', 6))
  t.comment(`statuses: ${[...statuses.entries()].map(([s, n]) => `${s}×${n}`).join(' ')}`)
  t.notOk(details.failed, details.failed ? `${replayHint('garbage', details.counterexamplePath ?? undefined)}: ${details.errorInstance instanceof Error ? details.errorInstance.message : 'failed'}` : `${sent} garbage requests: no 5xx`)
  await assertHealthy(t, 'garbage request lines')
})

t.test('an answer to a request the server could not parse says Connection: close, since the server closes the connection', async (t) => {
  // Without it a keep-alive client (Node's own http.Agent, undici, browsers)
  // puts the socket back in its pool and its next request on it fails with
  // ECONNRESET ("socket hang up"): seen in the API fuzz after every 431.
  const cases: Array<[string, string, number]> = [
    ['a garbage request', 'GARBAGE\r\n\r\n', 400],
    ['headers over 16 KiB', `GET /api/games/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['a URL over 16 KiB', `GET /api/games/?q=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ['a bad chunk size', 'POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n', 400]
  ]
  for (const [what, bytes, status] of cases) {
    const x = await exchange(port, [bytes], { waitMs: 2000 })
    const response = x.responses[0]
    t.equal(response?.status, status, `${what} → ${status} (${summary(x)})`)
    t.ok(x.closedByServer, `${what}: the server closes the connection (${summary(x)})`)
    t.equal(response?.headers.connection?.toLowerCase(), 'close', `${what}: the ${status} says "Connection: close" (${summary(x)}); Fastify's default clientErrorHandler writes none`)
  }
  await assertHealthy(t, 'unparseable requests')
})

t.test('oversized headers', async (t) => {
  const cases: Array<[string, string]> = [
    ['one 20 KiB header', `GET /api/games/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`],
    ['300 headers', `GET /api/games/ HTTP/1.1\r\nHost: x\r\n${Array.from({ length: 300 }, (_, i) => `X-H${i}: ${'v'.repeat(60)}\r\n`).join('')}\r\n`],
    ['a 20 KiB cookie', `GET /api/profile/ HTTP/1.1\r\nHost: x\r\nCookie: ${'c=1; '.repeat(4000)}\r\n\r\n`],
    ['a 20 KiB bearer token', `GET /api/profile/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'A'.repeat(20_000)}\r\n\r\n`],
    ['a header that never ends', `GET /api/games/ HTTP/1.1\r\nHost: x\r\nX-Endless: ${'a'.repeat(40_000)}`]
  ]
  for (const [what, bytes] of cases) {
    const x = await exchange(port, [bytes], { waitMs: 3000 })
    t.equal(x.responses[0]?.status, 431, `${what} → 431 (${summary(x)})`)
    t.ok(x.closedByServer, `${what}: connection closed (${summary(x)})`)
  }
  await assertHealthy(t, 'oversized headers')
})

t.test('broken chunked encoding', async (t) => {
  const head = 'POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
  const cases: Array<[string, Step[]]> = [
    ['a chunk size that is not hex', [`${head}zz\r\n{}\r\n0\r\n\r\n`]],
    ['a chunk size that overflows', [`${head}ffffffffffffffffffff\r\n{}\r\n0\r\n\r\n`]],
    ['a negative chunk size', [`${head}-2\r\n{}\r\n0\r\n\r\n`]],
    ['chunk data longer than its size', [`${head}1\r\n{}\r\n0\r\n\r\n`]],
    ['no CRLF after the chunk data', [`${head}2\r\n{}0\r\n\r\n`]],
    ['a NUL in a chunk extension', [`${head}2;a=\u0000\r\n{}\r\n0\r\n\r\n`]],
    ['a bare LF as line end', [`${head}2\n{}\n0\n\n`]],
    ['no last chunk, then silence', [`${head}2\r\n{}\r\n`]],
    ['no last chunk, then the client leaves', [`${head}2\r\n{}\r\n`, { pause: 50 }, { end: true }]],
    ['no last chunk, then a reset', [`${head}2\r\n{}\r\n`, { pause: 50 }, { reset: true }]]
  ]
  for (const [what, steps] of cases) {
    const x = await exchange(port, steps, { waitMs: LIMITS.REQUEST_TIMEOUT_MS + SLACK_MS + 500 })
    t.same(serverErrors(x), [], `${what}: no 5xx (${summary(x)})`)
    if (!steps.some((s) => typeof s === 'object' && ('reset' in s || 'end' in s))) closedWithin(t, x, LIMITS.REQUEST_TIMEOUT_MS + SLACK_MS, what)
  }
  await assertHealthy(t, 'broken chunked encoding')
})

t.test('Content-Length that does not match the body', async (t) => {
  const post = (cl: string, body: string): string => `POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${cl}\r\n\r\n${body}`
  const cases: Array<[string, Step[], number | undefined]> = [
    ['longer than the body, then silence', [post('100', '{"username":')], LIMITS.REQUEST_TIMEOUT_MS + SLACK_MS],
    ['shorter than the body (the rest is read as the next request)', [post('2', '{}GARBAGE\r\n\r\n')], 3000],
    ['negative', [post('-1', '{}')], 3000],
    ['not a number', [post('abc', '{}')], 3000],
    ['a list', [post('2, 3', '{}')], 3000],
    ['with a plus sign', [post('+2', '{}')], 3000],
    ['twice, different', ['POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x'], 3000],
    ['huge', [post('99999999999999999999', '{}')], 3000],
    ['above the body limit, body never sent', [post(String(2 * 1024 * 1024), '{')], 3000]
  ]
  for (const [what, steps, within] of cases) {
    const x = await exchange(port, steps, { waitMs: (within ?? 3000) + 500 })
    t.same(serverErrors(x), [], `Content-Length ${what}: no 5xx (${summary(x)})`)
    if (within !== undefined) closedWithin(t, x, within, `Content-Length ${what}`)
  }
  await assertHealthy(t, 'Content-Length mismatches')
})

t.test('request smuggling: a second request hidden in the first is never run behind the gateway\'s back', async (t) => {
  const auth = system.auth.db
  const smuggled = (username: string): string => {
    const body = JSON.stringify({ username, email: `${username}@smuggled.test`, password: `Smuggled-${randomBytes(6).toString('hex')}-Pw1` })
    return `POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`
  }
  const variants: Array<[string, (inner: string) => string]> = [
    ['CL.TE', (inner) => `POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${5 + inner.length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${inner}`],
    ['TE.CL', (inner) => { const chunk = inner.length.toString(16); return `POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}\r\n${inner}\r\n0\r\n\r\n` }],
    ['TE with a space before the colon', (inner) => `POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${5 + inner.length}\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n${inner}`],
    ['TE: xchunked', (inner) => `POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${5 + inner.length}\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n${inner}`],
    ['TE: chunked, identity', (inner) => `POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${5 + inner.length}\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n${inner}`],
    ['TE twice', (inner) => `POST /api/token/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\nContent-Length: ${5 + inner.length}\r\n\r\n0\r\n\r\n${inner}`],
    ['TE folded onto the next line', (inner) => `POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${5 + inner.length}\r\nTransfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${inner}`],
    ['TE with a tab', (inner) => `POST /api/token/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${5 + inner.length}\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n${inner}`],
    ['CL on a GET', (inner) => `GET /api/games/ HTTP/1.1\r\nHost: x\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`],
    ['CL on a DELETE', (inner) => `DELETE /api/games/1 HTTP/1.1\r\nHost: x\r\nContent-Length: ${inner.length}\r\n\r\n${inner}`],
    ['CL: 0 with a body', (inner) => `POST /api/logout/ HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n${inner}`],
    ['HTTP/1.0 with TE', (inner) => `POST /api/token/ HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${inner}`]
  ]
  const outcomes = await Promise.all(variants.map(async ([what, wrap]) => {
    const username = `smuggled_${randomBytes(5).toString('hex')}`
    const x = await exchange(port, [wrap(smuggled(username))], { waitMs: 2000 })
    return { what, username, x }
  }))
  // a registration takes a password hash: give one that ran the time to land
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (const { what, username, x } of outcomes) {
    const { rows } = await sql`SELECT 1 FROM users WHERE username = ${username}`.execute(auth)
    const ran = rows.length > 0
    const answered = x.responses.filter((r) => r.status >= 200).length
    t.same(serverErrors(x), [], `${what}: no 5xx (${summary(x)})`)
    // Running the inner request is fine only when the gateway itself read it as the next
    // request on the connection and answered it (pipelining); run without its own answer,
    // it went past the gateway inside another request's body.
    t.ok(!ran || answered >= 2, `${what}: the hidden registration ${ran ? 'ran' : 'did not run'}, with ${answered} answer(s) on the connection (${summary(x)})`)
  }
  await assertHealthy(t, 'smuggling attempts')
})

t.test('resets mid-body and mid-response, and clients that leave while their request is upstream', async (t) => {
  const ordersDb = system.orders[0]?.db
  if (ordersDb === undefined) throw new Error('no orders instance')
  const countOrders = async (): Promise<number> => Number((await ordersDb.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)
  const before = await countOrders()
  const head = `POST /api/topup/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${player}\r\nContent-Type: application/json\r\nContent-Length: ${topupBody.length}\r\n\r\n`
  // the body cut short and the connection reset: no order from half a request
  const cut = await Promise.all(Array.from({ length: 10 }, async (_, i) => await exchange(port, [head, topupBody.slice(0, 10 + i * 5), { pause: 20 }, { reset: true }], { waitMs: 500 })))
  t.ok(cut.every((x) => x.responses.length === 0), 'a request reset mid-body gets no answer')
  await new Promise((resolve) => setTimeout(resolve, 300))
  t.equal(await countOrders(), before, 'no order from a top-up whose body was cut off')

  // mid-response: the big schema document and a staff CSV export, reset after their first bytes
  const midResponse = await Promise.all([
    ...Array.from({ length: 5 }, async () => await exchange(port, [VALID.schema as string, { awaitBytes: 1 }, { reset: true }], { waitMs: 3000 })),
    ...Array.from({ length: 5 }, async () => await exchange(port, [`GET /api/export/orders/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${staff}\r\n\r\n`, { awaitBytes: 1 }, { reset: true }], { waitMs: 3000 }))
  ])
  t.ok(midResponse.every((x) => serverErrors(x).length === 0), 'no 5xx before the resets')

  // the issue's load case: requests whose clients give up after 1–20 ms, while they are upstream
  const leave = fc.sample(fc.record({ kind: fc.constantFrom('games', 'topup', 'schema', 'profile401'), afterMs: fc.integer({ min: 0, max: 20 }), reset: fc.boolean() }), { numRuns: 60, seed: SEED })
  await mapLimit(leave, 20, async ({ kind, afterMs, reset }) => await exchange(port, [VALID[kind] as string, { pause: afterMs }, reset ? { reset: true } : { end: true }], { waitMs: afterMs + 50 }))
  await new Promise((resolve) => setTimeout(resolve, 500))
  await assertHealthy(t, '80 resets and early leavers')
  // and the upstream connections of the gateway are not left broken: a burst of reads all works
  const burst = await mapLimit(Array.from({ length: 40 }, (_, i) => i), 10, async () => (await fetch(`${system.url}/api/games/`)).status)
  t.same([...new Set(burst)], [200], 'then 40 reads through the gateway all answer 200')
})

t.test('slow clients are cut by the time limits', async (t) => {
  const slowBody: Step[] = ['POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n']
  for (let i = 0; i < 40; i++) slowBody.push('a', { pause: 250 })
  const slowHeaders: Step[] = ['GET /api/games/ HTTP/1.1\r\n']
  for (let i = 0; i < 40; i++) slowHeaders.push('X', { pause: 200 })
  const limitAll = 10_000
  const [body, headers, silent, idle] = await Promise.all([
    exchange(port, slowBody, { waitMs: limitAll }),
    exchange(port, slowHeaders, { waitMs: limitAll }),
    exchange(port, [], { waitMs: limitAll }),
    exchange(port, [VALID.games as string, { awaitResponses: 1 }], { waitMs: limitAll })
  ])
  closedWithin(t, body, LIMITS.REQUEST_TIMEOUT_MS + SLACK_MS, `a body at one byte per 250 ms (REQUEST_TIMEOUT_MS ${LIMITS.REQUEST_TIMEOUT_MS})`)
  t.ok(body.bytesWritten < 200 + 100, `the slow body was not let through to its end (${body.bytesWritten} bytes written)`)
  t.same(serverErrors(body), [], `the slow body gets no 5xx (${summary(body)})`)
  closedWithin(t, headers, LIMITS.HEADERS_TIMEOUT_MS + SLACK_MS, `headers at one byte per 200 ms (HEADERS_TIMEOUT_MS ${LIMITS.HEADERS_TIMEOUT_MS})`)
  closedWithin(t, silent, Math.max(LIMITS.HEADERS_TIMEOUT_MS, LIMITS.IDLE_TIMEOUT_MS) + SLACK_MS, 'a connection that sends nothing')
  t.equal(idle.responses[0]?.status, 200, `the keep-alive request is answered (${summary(idle)})`)
  closedWithin(t, idle, LIMITS.KEEP_ALIVE_TIMEOUT_MS + SLACK_MS + 500, `an idle keep-alive connection (KEEP_ALIVE_TIMEOUT_MS ${LIMITS.KEEP_ALIVE_TIMEOUT_MS})`)
  await assertHealthy(t, 'slow clients')
})

t.test('Expect: 100-continue through the gateway', async (t) => {
  const cases: Array<[string, string, string, number]> = [
    ['a top-up', `POST /api/topup/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${player}\r\nContent-Type: application/json\r\nContent-Length: ${topupBody.length}\r\nExpect: 100-continue\r\n\r\n`, topupBody, 201],
    ['an invalid registration', 'POST /api/register/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n', '{}', 400]
  ]
  for (const [what, head, body, status] of cases) {
    // a client waits for 100 Continue (or a final answer) before it sends the body
    const x = await exchange(port, [head, { awaitResponses: 1, timeoutMs: 2000 }, body, { awaitResponses: 2, timeoutMs: 3000 }], { waitMs: 200 })
    const final = x.responses.find((r) => r.status >= 200)
    t.equal(final?.status, status, `${what} with Expect: 100-continue → ${status}, as without it (${summary(x)})`)
    const interim = x.responses.filter((r) => r.status < 200).map((r) => r.status)
    t.ok(interim.every((s) => s === 100), `interim answers are 100 Continue only (${interim.join(', ') || 'none'})`)
  }
  await assertHealthy(t, 'Expect: 100-continue')
})

t.test('HTTP/1.0 and Connection: close: the answer closes the connection', async (t) => {
  const cases: Array<[string, string]> = [
    ['HTTP/1.0', 'GET /api/games/ HTTP/1.0\r\nHost: x\r\n\r\n'],
    ['HTTP/1.0 without Host', 'GET /api/games/ HTTP/1.0\r\n\r\n'],
    ['HTTP/1.1 with Connection: close', 'GET /api/games/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['HTTP/1.1 with Connection: close on a refused POST', 'POST /api/register/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'],
    ['HTTP/1.0 POST', 'POST /api/register/ HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}']
  ]
  for (const [what, bytes] of cases) {
    const x = await exchange(port, [bytes], { waitMs: 3000 })
    const response = x.responses[0]
    t.ok(response !== undefined && response.status < 500, `${what}: answered (${summary(x)})`)
    t.not(response?.headers.connection?.toLowerCase(), 'keep-alive', `${what}: the answer does not promise keep-alive (${summary(x)})`)
    closedWithin(t, x, 1000, what)
  }
  await assertHealthy(t, 'HTTP/1.0 and Connection: close')
})

t.test('afterwards: no service logged an error for any of it', async (t) => {
  const errors = system.allLogs().split('\n').filter((line) => /"level":(50|60)/.test(line))
  t.same(errors.map((l) => l.slice(0, 1500)).slice(0, 5), [], `no error-level log lines (${errors.length})`)
})
