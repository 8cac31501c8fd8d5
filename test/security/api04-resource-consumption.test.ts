/**
 * OWASP API4:2023 Unrestricted Resource Consumption. Bodies are capped (413)
 * through the gateway and at each service; registration and order creation
 * are rate-limited per address and per player (429 with Retry-After); slow
 * clients are cut by the listeners' timeouts; pages, query strings, header
 * counts, passwords (argon2 work) and JSON nesting are bounded, and none of
 * it costs a 5xx or stops a process.
 */
import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import { demoTopup, type Tokens } from '../system/harness.js'
import { authDb, httpFrom, rawHttp, slowClient, startPlatform, type Platform } from './helpers.js'

const BODY_LIMIT = 1_048_576
const LIMITS = {
  auth: { REGISTER_MAX_PER_IP: '3', REGISTER_WINDOW: '10 minutes' },
  orders: { ORDER_MAX_PER_USER: '3', ORDER_MAX_PER_IP: '5', ORDER_WINDOW: '1 minute' },
  gateway: { HEADERS_TIMEOUT_MS: '1000', REQUEST_TIMEOUT_MS: '2000', IDLE_TIMEOUT_MS: '1500' }
}

interface Account { id: string, username: string, password: string, access: string }

/** A player registered straight at auth from its own forwarded address, so the registration limit of the addresses under test is untouched. */
async function accountAt (platform: Platform, address: string): Promise<Account> {
  const username = `rc_${randomBytes(5).toString('hex')}`
  const password = `Sturdy-${randomBytes(6).toString('hex')}-9A`
  const headers = { 'x-forwarded-for': address }
  const registered = await platform.http<{ id: string }>('POST', '/api/register/', { baseUrl: platform.direct.auth, headers, body: { username, email: `${username}@players.test`, password } })
  if (registered.status !== 201) throw new Error(`register: ${registered.status} ${registered.text}`)
  const tokens = await platform.http<Tokens>('POST', '/api/token/', { baseUrl: platform.direct.auth, headers, body: { username, password } })
  if (tokens.status !== 200) throw new Error(`login: ${tokens.status} ${tokens.text}`)
  return { id: registered.body.id, username, password, access: tokens.body.access }
}

t.test('API4 unrestricted resource consumption', async (t) => {
  const platform = await startPlatform(t, { env: LIMITS })
  let setupAddress = 0
  const account = async (): Promise<Account> => await accountAt(platform, `198.18.200.${++setupAddress}`)
  const player = await account()
  const stillServing = async (t: Test, what: string): Promise<void> => {
    const res = await platform.http('GET', '/api/games/')
    t.equal(res.status, 200, `${what}: the gateway and orders still answer`)
  }

  await t.test('bodies over the limit → 413, through the gateway and at each service', async (t) => {
    const big = JSON.stringify({ username: 'x'.repeat(BODY_LIMIT), email: 'a@b.c', password: 'x' })
    const targets = [
      { path: '/api/register/', direct: platform.direct.auth },
      { path: '/api/token/', direct: platform.direct.auth },
      { path: '/api/topup/', direct: platform.direct.orders },
      { path: '/api/games/', direct: platform.direct.orders },
      { path: '/api/payment/webhook/', direct: platform.direct.payments }
    ]
    for (const target of targets) {
      for (const [via, baseUrl] of [['gateway', platform.url], ['direct', target.direct]] as const) {
        const res = await platform.http('POST', target.path, { body: big, token: platform.staffToken, baseUrl, headers: { 'x-forwarded-for': '198.18.9.9' } })
        t.equal(res.status, 413, `${target.path} with ${big.length} bytes (${via}) → 413`)
        t.match(res.body, { statusCode: 413, message: String })
      }
    }
    // without a content-length: chunked, counted as it streams
    const chunk = 'x'.repeat(65_536)
    const chunks = Array.from({ length: 20 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('')
    const chunked = await account()
    // each top-up below comes from an address of its own (the order limits count per address)
    for (const [via, port, forwarded] of [['gateway', platform.gatewayPort, ''], ['orders', Number(new URL(platform.direct.orders).port), 'X-Forwarded-For: 198.18.9.10\r\n']] as const) {
      const res = await rawHttp(port, `POST /api/topup/ HTTP/1.1\r\nHost: 127.0.0.1\r\n${forwarded}Authorization: Bearer ${chunked.access}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`, { localAddress: '127.0.0.41' })
      t.equal(res.status, 413, `a chunked body of ${20 * chunk.length} bytes (${via}) → 413`)
    }
    await stillServing(t, 'after the large bodies')
  })

  await t.test('registration is rate-limited per address → 429 with Retry-After', async (t) => {
    const max = Number(LIMITS.auth.REGISTER_MAX_PER_IP)
    const tryRegister = async (send: (body: object) => Promise<{ status: number, retryAfter: string | undefined }>, what: string): Promise<void> => {
      const statuses: number[] = []
      let username = ''
      for (let i = 0; i <= max; i++) {
        username = `reg_${randomBytes(5).toString('hex')}`
        const res = await send({ username, email: `${username}@players.test`, password: 'Sturdy-Passw0rd-9' })
        statuses.push(res.status)
        if (i === max) t.match(String(res.retryAfter), /^[1-9]\d*$/, `${what}: Retry-After ${String(res.retryAfter)} s`)
      }
      t.same(statuses, [...Array<number>(max).fill(201), 429], `${what}: ${max} accounts, then 429`)
      const row = await authDb(platform).selectFrom('users').select('username').where('username', '=', username).executeTakeFirst()
      t.equal(row, undefined, `${what}: the refused account does not exist`)
    }
    // through the gateway: the address is the TCP peer
    await tryRegister(async (body) => {
      const res = await httpFrom('127.0.0.21', 'POST', `${platform.url}/api/register/`, { body })
      return { status: res.status, retryAfter: res.headers['retry-after'] as string | undefined }
    }, 'gateway, from 127.0.0.21')
    const elsewhere = await httpFrom('127.0.0.22', 'POST', `${platform.url}/api/register/`, { body: { username: `reg_${randomBytes(5).toString('hex')}`, email: `e${randomBytes(4).toString('hex')}@players.test`, password: 'Sturdy-Passw0rd-9' } })
    t.equal(elsewhere.status, 201, 'another address still registers')
    // straight to auth: the forwarded address (auth trusts loopback, i.e. the gateway)
    await tryRegister(async (body) => {
      const res = await platform.http('POST', '/api/register/', { body, baseUrl: platform.direct.auth, headers: { 'x-forwarded-for': '198.51.100.33' } })
      return { status: res.status, retryAfter: res.headers.get('retry-after') ?? undefined }
    }, 'auth, from 198.51.100.33')
  })

  await t.test('order creation is rate-limited per player and per address → 429 with Retry-After', async (t) => {
    const perUser = Number(LIMITS.orders.ORDER_MAX_PER_USER)
    const perIp = Number(LIMITS.orders.ORDER_MAX_PER_IP)
    const ordersOf = async (who: Account): Promise<number> =>
      (await platform.orders[0]?.db.selectFrom('orders').select('id').where('user_id', '=', who.id).execute())?.length ?? -1

    const a = await account()
    const statuses: number[] = []
    let last: Awaited<ReturnType<typeof httpFrom>> | undefined
    for (let i = 0; i <= perUser; i++) {
      last = await httpFrom('127.0.0.31', 'POST', `${platform.url}/api/topup/`, { token: a.access, body: demoTopup })
      statuses.push(last.status)
    }
    t.same(statuses, [...Array<number>(perUser).fill(201), 429], `one player: ${perUser} orders, then 429 (gateway)`)
    t.match(String(last?.headers['retry-after']), /^[1-9]\d*$/, `with Retry-After (${String(last?.headers['retry-after'])} s)`)
    t.equal(await ordersOf(a), perUser, 'the refused order was not created')
    const otherAddress = await httpFrom('127.0.0.32', 'POST', `${platform.url}/api/topup/`, { token: a.access, body: demoTopup })
    t.equal(otherAddress.status, 429, 'the player limit follows the player to another address')

    // two players behind one address share its limit
    const b = await account()
    const c = await account()
    const fromOne: number[] = []
    for (const who of [b, b, b, c, c, c]) fromOne.push((await httpFrom('127.0.0.33', 'POST', `${platform.url}/api/topup/`, { token: who.access, body: demoTopup })).status)
    t.same(fromOne, [201, 201, 201, 201, 201, 429], `one address: ${perIp} orders whoever places them, then 429`)
    const e = await account()
    t.equal((await httpFrom('127.0.0.34', 'POST', `${platform.url}/api/topup/`, { token: e.access, body: demoTopup })).status, 201, 'a player at another address is not refused')

    // straight to orders, which reads the address the gateway forwards
    const d = await account()
    const direct: number[] = []
    for (let i = 0; i <= perUser; i++) direct.push((await platform.http('POST', '/api/topup/', { token: d.access, body: demoTopup, baseUrl: platform.direct.orders, headers: { 'x-forwarded-for': '198.18.9.11' } })).status)
    t.same(direct, [...Array<number>(perUser).fill(201), 429], 'straight to orders: the same per-player limit')
    t.equal(await ordersOf(d), perUser)
  })

  await t.test('slow clients are cut by the gateway\'s timeouts', async (t) => {
    const port = platform.gatewayPort
    const slow = await account()
    const started = Date.now()
    const [slowHeaders, slowBody, silent, ...crowd] = await Promise.all([
      slowClient(port, 'GET /api/games/ HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n', 200, 9000),
      slowClient(port, `POST /api/topup/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${slow.access}\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n`, '{"gamename":', 200, 9000),
      slowClient(port, '', '', 60_000, 9000),
      ...Array.from({ length: 12 }, async () => await slowClient(port, 'POST /api/register/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n', 'a', 250, 9000))
    ])
    t.ok(slowHeaders.closedAfterMs !== null && slowHeaders.closedAfterMs < 4000, `headers one byte at a time: cut after ${String(slowHeaders.closedAfterMs)} ms (HEADERS_TIMEOUT_MS ${LIMITS.gateway.HEADERS_TIMEOUT_MS})`)
    t.ok(slowBody.closedAfterMs !== null && slowBody.closedAfterMs < 5000, `a body one byte at a time: cut after ${String(slowBody.closedAfterMs)} ms (REQUEST_TIMEOUT_MS ${LIMITS.gateway.REQUEST_TIMEOUT_MS})`)
    t.ok(silent.closedAfterMs !== null && silent.closedAfterMs < 5000, `a connection that sends nothing: closed after ${String(silent.closedAfterMs)} ms`)
    const cut = crowd.filter((c) => c.closedAfterMs !== null && c.closedAfterMs < 5000).length
    t.equal(cut, crowd.length, `${cut} of ${crowd.length} parallel slow bodies cut`)
    t.ok(Date.now() - started < 9500, 'all within the wait')
    const orders = await platform.orders[0]?.db.selectFrom('orders').select('id').where('user_id', '=', slow.id).execute()
    t.same(orders, [], 'the slow top-up created nothing')
    await stillServing(t, 'after the slow clients')
  })

  await t.test('slow headers are cut at each service\'s own port too', async (t) => {
    const results = await Promise.all(Object.entries(platform.direct).map(async ([service, url]) => {
      const res = await slowClient(Number(new URL(url).port), 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n', 'X-Slow: aaaaaaaaaaaaaaaaaaaaaaaa\r\n', 500, 16_000)
      return { service, closedAfterMs: res.closedAfterMs }
    }))
    for (const { service, closedAfterMs } of results) {
      t.ok(closedAfterMs !== null && closedAfterMs < 15_000, `${service}: a slow-header client is cut after ${String(closedAfterMs)} ms (10 s default)`)
    }
  })

  await t.test('pages are capped', async (t) => {
    for (const baseUrl of [platform.url, platform.direct.orders]) {
      t.equal((await platform.http('GET', '/api/orders/?limit=100', { token: platform.staffToken, baseUrl })).status, 200, 'limit=100 → 200')
      for (const limit of ['101', '1000', '1000000', '99999999999999999999', '0', '-1', '1e3', '0x64', '%20100', '100.5', 'all']) {
        const res = await platform.http('GET', `/api/orders/?limit=${limit}`, { token: platform.staffToken, baseUrl })
        t.equal(res.status, 400, `limit=${limit} → 400`)
      }
    }
  })

  await t.test('huge query strings, many parameters and many headers are bounded', async (t) => {
    for (const [via, port] of [['gateway', platform.gatewayPort], ['orders', Number(new URL(platform.direct.orders).port)]] as const) {
      for (const size of [20_000, 100_000]) {
        const res = await rawHttp(port, `GET /api/games/?q=${'a'.repeat(size)} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
        t.ok(res.status === 414 || res.status === 431 || res.status === 400 || (res.status === null && res.closed), `a ${size}-byte query string (${via}) → ${String(res.status)}`)
      }
      const many = Array.from({ length: 1500 }, (_, i) => `p${i}=1`).join('&')
      const params = await rawHttp(port, `GET /api/games/?${many} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
      t.ok(params.status !== null && params.status < 500 && params.elapsedMs < 2000, `1500 query parameters (${via}) → ${String(params.status)} in ${params.elapsedMs} ms`)
      const headers = Array.from({ length: 3000 }, (_, i) => `X-H${i}: v`).join('\r\n')
      const crowded = await rawHttp(port, `GET /api/games/ HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\nConnection: close\r\n\r\n`)
      t.ok(crowded.status === 431 || crowded.status === 400 || (crowded.status !== null && crowded.status < 500) || crowded.closed, `3000 headers (${via}) → ${String(crowded.status)}`)
    }
    await stillServing(t, 'after the long URLs')
  })

  await t.test('argon2 work and JSON parsing are bounded by the schemas', async (t) => {
    const huge = `Aa1-${'x'.repeat(100_000)}`
    const cases = [
      { what: 'a 100 KB password at login', path: '/api/token/', body: { username: player.username, password: huge } },
      { what: 'a 100 KB password at registration', path: '/api/register/', body: { username: `long_${randomBytes(3).toString('hex')}`, email: 'long@players.test', password: huge } }
    ]
    for (const c of cases) {
      for (const baseUrl of [platform.url, platform.direct.auth]) {
        const started = Date.now()
        const res = await platform.http('POST', c.path, { body: c.body, baseUrl, headers: { 'x-forwarded-for': '198.18.77.1' } })
        const ms = Date.now() - started
        t.equal(res.status, 400, `${c.what} → 400`)
        t.ok(ms < 1500, `refused in ${ms} ms, before any hashing`)
      }
    }
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`
    const wide = JSON.stringify({ gamename: Array.from({ length: 100_000 }, () => 1) })
    for (const [what, body] of [['400 KB of nested arrays', deep], ['an array of 100 000 items', wide]] as const) {
      const who = await account()
      const viaGateway = await httpFrom('127.0.0.43', 'POST', `${platform.url}/api/topup/`, { token: who.access, body })
      t.equal(viaGateway.status, 400, `${what} (gateway) → 400`)
      const direct = await platform.http('POST', '/api/topup/', { token: who.access, body, baseUrl: platform.direct.orders, headers: { 'x-forwarded-for': '198.18.9.12' } })
      t.equal(direct.status, 400, `${what} (orders) → 400`)
    }
    await stillServing(t, 'after the heavy bodies')
  })
})
