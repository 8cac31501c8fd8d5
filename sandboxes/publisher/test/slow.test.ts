/**
 * The slow answers, with a real client and its timeout (the way a fulfilment
 * service meets them): a 504 that credits nothing, and a credit whose answer
 * comes after the client gave up.
 */
import t, { type Test } from 'tap'
import { waitFor } from '@topup/service-kit/testing'
import { build, creditBody, errorLines, ledger, listen, type CreditBody } from './helper.js'

const SLOW_MS = 1000
const CLIENT_TIMEOUT_MS = 200

async function post (base: string, body: CreditBody, timeoutMs: number): Promise<{ status: number, body: Record<string, unknown>, ms: number }> {
  const started = Date.now()
  const res = await fetch(`${base}/v1/credits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs)
  })
  return { status: res.status, body: await res.json() as Record<string, unknown>, ms: Date.now() - started }
}

async function timesOut (t: Test, promise: Promise<unknown>): Promise<void> {
  await t.rejects(promise, { name: 'TimeoutError' }, 'the client gave up')
}

async function statusOf (base: string, requestId: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const res = await fetch(`${base}/v1/credits/${encodeURIComponent(requestId)}`, { signal: AbortSignal.timeout(5000) })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}

t.test('504…', async (t) => {
  const { app, logs } = await build(t, { env: { SLOW_MS: String(SLOW_MS) } })
  const base = await listen(app)

  t.test('the first call outlasts the client\'s timeout and credits nothing; the next call credits', async (t) => {
    const body = creditBody('50401')
    await timesOut(t, post(base, body, CLIENT_TIMEOUT_MS))
    t.same(await statusOf(base, body.request_id), { status: 404, body: { request_id: body.request_id, status: 'unknown', calls: 1 } }, 'not credited')
    // after the slow answer would have gone out, still nothing
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS))
    t.same(await ledger(app, '50401'), [])
    const retry = await post(base, body, 5000)
    t.equal(retry.status, 200)
    t.match(retry.body, { status: 'credited', request_id: body.request_id })
    t.ok(retry.ms < SLOW_MS, `the retry is answered at once (${retry.ms} ms)`)
    t.equal((await ledger(app, '50401')).length, 1)
  })

  t.test('a client that waits gets the 504 after SLOW_MS', async (t) => {
    const body = creditBody('50402')
    const res = await post(base, body, 10_000)
    t.equal(res.status, 504)
    t.match(res.body, { statusCode: 504 })
    t.ok(res.ms >= SLOW_MS - 20, `answered after SLOW_MS (${res.ms} ms)`)
    t.same(await ledger(app, '50402'), [], 'a 504 credits nothing')
    t.equal((await post(base, body, 5000)).status, 200, 'the second call credits')
  })

  t.test('the wait holds no other call back', async (t) => {
    const slow = post(base, creditBody('50403'), 10_000)
    const started = Date.now()
    const lookup = await fetch(`${base}/v1/players/12`, { signal: AbortSignal.timeout(5000) })
    const quick = await post(base, creditBody('13'), 5000)
    t.equal(lookup.status, 200)
    t.equal(quick.status, 200)
    t.ok(Date.now() - started < SLOW_MS, 'answered while the slow call waits')
    t.equal((await slow).status, 504)
  })

  t.test('clients that left caused no error', async (t) => {
    t.same(errorLines(logs), [])
    t.ok(logs.entries().some((e) => e.msg === 'the client left before the 504'), 'the departure is logged at info')
  })
})

t.test('202…', async (t) => {
  const { app, logs } = await build(t, { env: { SLOW_MS: String(SLOW_MS) } })
  const base = await listen(app)

  t.test('the first call credits, then answers after the client gave up: the status says credited', async (t) => {
    const body = creditBody('20201')
    await timesOut(t, post(base, body, CLIENT_TIMEOUT_MS))
    // the credit was committed before the wait began
    await waitFor('the credit', async () => (await statusOf(base, body.request_id)).status === 200, 5000)
    const known = await statusOf(base, body.request_id)
    t.match(known.body, { status: 'credited', request_id: body.request_id, player_id: '20201', amount: '500 UC', calls: 1 })
    const retry = await post(base, body, 5000)
    t.equal(retry.status, 200)
    t.equal(retry.body.credit_id, known.body.credit_id, 'a retry answers the same credit')
    t.ok(retry.ms < SLOW_MS, `at once (${retry.ms} ms)`)
    await new Promise((resolve) => setTimeout(resolve, SLOW_MS))
    t.equal((await ledger(app, '20201')).length, 1, 'one credit')
  })

  t.test('a client that waits gets its credit after SLOW_MS', async (t) => {
    const body = creditBody('20202')
    const res = await post(base, body, 10_000)
    t.equal(res.status, 200)
    t.match(res.body, { status: 'credited', request_id: body.request_id })
    t.ok(res.ms >= SLOW_MS - 20, `after SLOW_MS (${res.ms} ms)`)
    t.equal((await ledger(app, '20202')).length, 1)
  })

  t.test('clients that left caused no error', async (t) => {
    t.same(errorLines(logs), [])
    t.ok(logs.entries().some((e) => e.msg === 'the client left before the answer (the credit stands)'))
    const health = await fetch(`${base}/health`, { signal: AbortSignal.timeout(5000) })
    t.equal(health.status, 200, 'still serving')
  })
})

t.test('shutting down cuts a slow answer short: the client gets it at once', async (t) => {
  const { app } = await build(t, { env: { SLOW_MS: '60000' } })
  const base = await listen(app)
  const body = creditBody('20203')
  const pending = post(base, body, 30_000)
  await waitFor('the credit', async () => (await ledger(app, '20203')).length === 1, 5000)
  const started = Date.now()
  await app.close()
  const res = await pending
  t.equal(res.status, 200)
  t.match(res.body, { status: 'credited', request_id: body.request_id })
  t.ok(Date.now() - started < 5000, 'closed without waiting SLOW_MS')
})
