import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import t from 'tap'
import { closedUrl } from '@topup/service-kit/testing'
import { startCountingUpstream, startGateway, type CountingUpstream, type Echo } from './helper.js'

interface Readiness { status: string, checks: Record<string, unknown> }

/** How many requests each upstream answered since `before` (its count then). */
function counts (upstreams: CountingUpstream[], before: number[] = upstreams.map(() => 0)): number[] {
  return upstreams.map((u, i) => u.seen.length - (before[i] ?? 0))
}

async function get (url: string): Promise<{ status: number, body: Echo }> {
  const response = await fetch(url)
  return { status: response.status, body: await response.json() as Echo }
}

async function post (url: string, body: string): Promise<{ status: number, body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  return { status: response.status, body: await response.json() as Record<string, unknown> }
}

t.test('ORDERS_URLS: requests are spread over every instance', async (t) => {
  const orders = [
    await startCountingUpstream(t, 'orders'),
    await startCountingUpstream(t, 'orders'),
    await startCountingUpstream(t, 'orders')
  ]
  // an instance that refused a connection is normally skipped for a while: not
  // here, so that every third request really meets the stopped instance
  const { url, adminUrl } = await startGateway(t, {}, { ORDERS_URLS: orders.map((o) => o.url).join(','), UPSTREAM_EJECT_MS: '0' })

  const first = await Promise.all(Array.from({ length: 30 }, async () => await get(`${url}/api/orders/`)))
  t.same(first.map((r) => r.status), first.map(() => 200), '30 GETs answered')
  const spread = counts(orders)
  t.ok(spread.every((n) => n > 0), `each instance got some (${spread.join(', ')})`)
  t.equal(spread.reduce((a, b) => a + b, 0), 30, 'each request reached one instance once')
  t.ok(orders.every((o) => o.seen.every((e) => e.headers.host === new URL(o.url).host)), 'each with the Host of its own URL')

  t.test('one instance stopped: GETs and POSTs are retried on the others, none twice', async (t) => {
    const [gone, ...alive] = orders
    if (gone === undefined) throw new Error('three upstreams')
    await gone.stop()
    // let the gateway see the idle keep-alive connections closed by the stopped instance
    await sleep(100)
    const before = counts(orders)

    const gets = await Promise.all(Array.from({ length: 30 }, async () => await get(`${url}/api/games/`)))
    t.same(gets.map((r) => r.status), gets.map(() => 200), 'every GET answered')
    t.equal(counts(orders, before)[0], 0, 'nothing reached the stopped instance')

    // connection refused: nothing was sent, so even a POST is safe to retry
    const bodies = Array.from({ length: 30 }, (_, i) => JSON.stringify({ n: i, nonce: `post-${i}` }))
    const posts = []
    for (const body of bodies) posts.push(await post(`${url}/api/topup/`, body))
    t.same(posts.map((r) => r.status), posts.map(() => 200), 'every POST answered (a third of them first met the stopped instance)')
    const received = alive.flatMap((u) => u.seen).filter((e) => e.method === 'POST').map((e) => e.body)
    t.same(received.sort(), [...bodies].sort(), 'each POST reached exactly one instance, exactly once')
    const after = counts(orders, before)
    t.ok(after[1] !== undefined && after[1] > 0 && after[2] !== undefined && after[2] > 0, `both live instances served (${after.join(', ')})`)
  })

  t.test('every instance stopped → 503 JSON', async (t) => {
    for (const o of orders) await o.stop()
    await sleep(100)
    for (const method of ['GET', 'POST']) {
      const response = await fetch(`${url}/api/orders/`, method === 'GET' ? {} : { method, headers: { 'content-type': 'application/json' }, body: '{}' })
      t.equal(response.status, 503, method)
      t.match(response.headers.get('content-type'), /^application\/json/)
      t.same(await response.json(), { statusCode: 503, error: 'Service Unavailable', message: 'The orders service is unavailable.' })
    }
    const ready = await fetch(`${adminUrl}/ready`)
    t.equal(ready.status, 503)
    const body = await ready.json() as Readiness
    t.match(body.checks.orders, /^unavailable: no instance ready \(.*connection refused.*\)$/)
  })
})

t.test('a connection reset before the response: idempotent requests retried, POST not', async (t) => {
  // accepts, then hangs up without answering: the request may have been seen
  const sockets: Socket[] = []
  const rude = createNetServer((socket) => {
    sockets.push(socket)
    socket.once('data', () => { socket.destroy() })
  })
  await new Promise<void>((resolve) => { rude.listen(0, '127.0.0.1', resolve) })
  t.teardown(() => new Promise<void>((resolve) => { rude.close(() => { resolve() }) }))
  const good = await startCountingUpstream(t, 'payments')
  const { url } = await startGateway(t, {}, { PAYMENTS_URLS: `http://127.0.0.1:${(rude.address() as AddressInfo).port},${good.url}` })

  const gets = await Promise.all(Array.from({ length: 10 }, async () => await fetch(`${url}/api/payment/x`)))
  t.same(gets.map((r) => r.status), gets.map(() => 200), 'every GET answered by the good instance after a reset')
  t.ok(sockets.length > 0, 'some GETs met the instance that hangs up')

  const resetsBefore = sockets.length
  const posts = []
  for (let i = 0; i < 10; i++) posts.push(await post(`${url}/api/payment/webhook/`, JSON.stringify({ i })))
  const failed = posts.filter((p) => p.status === 502)
  t.ok(failed.length > 0, `POSTs that met the reset are not retried (${failed.length} of 10 → 502)`)
  t.equal(failed.length, sockets.length - resetsBefore, 'one 502 per POST the rude instance took')
  t.same(failed[0]?.body, { statusCode: 502, error: 'Bad Gateway', message: 'The payments service did not send a valid response.' })
  t.equal(good.seen.filter((e) => e.method === 'POST').length, 10 - failed.length, 'the others reached the good instance once each')
})

t.test('/ready lists every instance and stays 200 while one is left', async (t) => {
  const a = await startCountingUpstream(t, 'orders')
  const b = await startCountingUpstream(t, 'orders')
  const dead = await closedUrl()
  const { adminUrl } = await startGateway(t, {
    auth: (await startCountingUpstream(t, 'auth')).url,
    payments: (await startCountingUpstream(t, 'payments')).url,
    analytics: (await startCountingUpstream(t, 'analytics')).url
  }, { ORDERS_URLS: `${a.url}, ${b.url}, ${dead}` })
  const response = await fetch(`${adminUrl}/ready`)
  t.equal(response.status, 200)
  const body = await response.json() as Readiness
  t.same(body.checks.orders, { ready: '2/3', instances: { [a.url]: 'ok', [b.url]: 'ok', [dead]: 'unavailable: connection refused' } })
  t.equal(body.checks.auth, 'ok', 'a single instance is reported as before')

  t.test('the API document comes from any instance that answers', async (t) => {
    const { url: gateway } = await startGateway(t, {}, { ORDERS_URLS: `${dead},${a.url}` })
    const document = await (await fetch(`${gateway}/api/schema/`)).json() as { info: { description?: string } }
    t.match(document.info.description, /not described right now.*auth/i, 'the services that are down are named')
    t.notMatch(document.info.description, /orders/, 'orders is described: its dead first instance was skipped')
  })
})

t.test('a host name is looked up again: every address it resolves to gets requests', async (t) => {
  // two instances on one port of two loopback addresses, as containers of one
  // Compose service are on one port of several addresses
  const a = await startCountingUpstream(t, 'orders', { host: '127.0.0.1' })
  const port = Number(new URL(a.url).port)
  const b = await startCountingUpstream(t, 'orders', { host: '127.0.0.2', port })
  let answer = ['127.0.0.1']
  const lookups: string[] = []
  const lookup = async (hostname: string): Promise<string[]> => {
    lookups.push(hostname)
    if (hostname !== 'orders.test') throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
    return answer
  }
  const ttl = 200
  const { url, adminUrl } = await startGateway(t, {}, { ORDERS_URL: `http://orders.test:${port}`, UPSTREAM_RESOLVE_TTL_MS: String(ttl) }, { lookup })

  const batch = async (n: number): Promise<number[]> => {
    const before = counts([a, b])
    const answers = await Promise.all(Array.from({ length: n }, async () => await get(`${url}/api/orders/`)))
    t.same(answers.map((r) => r.status), answers.map(() => 200), `${n} GETs answered`)
    t.ok(answers.every((r) => r.body.headers.host === `orders.test:${port}`), 'with the Host of the configured URL')
    return counts([a, b], before)
  }

  t.same(await batch(10), [10, 0], 'one address: everything to it')
  t.ok(lookups.includes('orders.test'), 'the name was looked up')

  answer = ['127.0.0.1', '127.0.0.2'] // a second container started
  await sleep(ttl + 50)
  const both = await batch(20)
  t.ok(both[0] !== undefined && both[0] > 0 && both[1] !== undefined && both[1] > 0, `after the TTL, both addresses get requests (${both.join(', ')})`)

  const ready = await (await fetch(`${adminUrl}/ready`)).json() as Readiness
  t.same(ready.checks.orders, {
    ready: '2/2',
    instances: { [`http://orders.test:${port} (127.0.0.1)`]: 'ok', [`http://orders.test:${port} (127.0.0.2)`]: 'ok' }
  }, '/ready names each address')

  answer = ['127.0.0.2'] // the first container removed
  await a.stop()
  await sleep(ttl + 50)
  t.same(await batch(10), [0, 10], 'the address that went away gets nothing')

  answer = []
  await sleep(ttl + 50)
  t.same(await batch(5), [0, 5], 'a failed look-up keeps the last known addresses')
})

t.test('a name that cannot be resolved → 503 JSON', async (t) => {
  const lookup = async (hostname: string): Promise<string[]> => { throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }) }
  const { url, adminUrl } = await startGateway(t, {}, { ORDERS_URL: 'http://nowhere.test:3002' }, { lookup })
  const response = await fetch(`${url}/api/orders/`)
  t.equal(response.status, 503)
  t.same(await response.json(), { statusCode: 503, error: 'Service Unavailable', message: 'The orders service is unavailable.' })
  const ready = await (await fetch(`${adminUrl}/ready`)).json() as Readiness
  t.equal(ready.checks.orders, 'unavailable: host not found')
})

t.test('a bad ORDERS_URLS is refused at start', async (t) => {
  const { loadGatewayConfig } = await import('../src/config.js')
  t.throws(() => loadGatewayConfig({ ORDERS_URLS: 'http://127.0.0.1:3002,ftp://x/y' }), /ORDERS_URLS: "ftp:\/\/x\/y" is not a base URL/)
  t.throws(() => loadGatewayConfig({ ORDERS_URLS: ' , ' }), /ORDERS_URLS: must list at least one URL/)
  const { upstreamUrlsOf } = await import('../src/config.js')
  t.same(upstreamUrlsOf(loadGatewayConfig({ ORDERS_URL: 'http://a:1', ORDERS_URLS: 'http://b:2, http://c:3' })).orders, ['http://b:2', 'http://c:3'], 'the list wins')
  t.same(upstreamUrlsOf(loadGatewayConfig({ ORDERS_URL: 'http://a:1' })).orders, ['http://a:1'], 'the single URL still works')
})
