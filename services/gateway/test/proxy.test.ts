import t from 'tap'
import { ROUTES } from '../src/routes.js'
import { startAll, startGateway, startUpstream, type Echo } from './helper.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

t.test('the gateway forwards requests to the right service', async (t) => {
  const { url } = await startAll(t)

  async function echo (path: string, init: RequestInit = {}): Promise<{ response: Response, seen: Echo }> {
    const response = await fetch(`${url}${path}`, init)
    t.equal(response.status, 200, `${init.method ?? 'GET'} ${path} answered by an upstream`)
    return { response, seen: await response.json() as Echo }
  }

  t.test('every prefix, with and without the trailing slash, path unchanged', async (t) => {
    for (const route of ROUTES) {
      for (const path of [`${route.prefix}/`, route.prefix]) {
        const { seen } = await echo(path)
        t.equal(seen.service, route.service, `${path} → ${route.service}`)
        t.equal(seen.url, path, `${path} reaches ${route.service} unchanged`)
        t.equal(seen.method, 'GET')
      }
    }
  })

  t.test('sub-paths of a prefix, both slash forms', async (t) => {
    const cases: Array<[string, string]> = [
      ['/api/token/refresh/', 'auth'],
      ['/api/token/refresh', 'auth'],
      ['/api/orders/123', 'orders'],
      ['/api/orders/123/', 'orders'],
      ['/api/games/7', 'orders'],
      ['/api/payment/webhook/', 'payments'],
      ['/api/export/orders/', 'analytics'],
      ['/api/export/failures', 'analytics']
    ]
    for (const [path, service] of cases) {
      const { seen } = await echo(path, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' })
      t.equal(seen.service, service, `${path} → ${service}`)
      t.equal(seen.url, path)
      t.equal(seen.method, 'PATCH')
    }
  })

  t.test('query strings pass through', async (t) => {
    const path = '/api/analytics/summary/?start_date=2026-01-01&end_date=2026-01-31'
    const { seen } = await echo(path)
    t.equal(seen.service, 'analytics')
    t.equal(seen.url, path)
    const { seen: bare } = await echo('/api/orders?cursor=abc%3D%3D&limit=20')
    t.equal(bare.url, '/api/orders?cursor=abc%3D%3D&limit=20')
  })

  t.test('a POST body reaches the upstream byte for byte, with its content type', async (t) => {
    // the payment webhook's signature covers the raw bytes: no re-serialisation
    const body = '{ "transaction_id" : "8c1d3d9e-7f0e-4f37-9a43-2f1c2d7e9b10",\n  "status": "success", "amount": 699.0, "name": "caf\u00e9" }'
    const { seen } = await echo('/api/payment/webhook/', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-topup-signature': 't=1,v1=ab' },
      body
    })
    t.equal(seen.service, 'payments')
    t.equal(seen.method, 'POST')
    t.equal(seen.body, body)
    t.equal(seen.headers['content-type'], 'application/json')
    t.equal(seen.headers['x-topup-signature'], 't=1,v1=ab')
    t.equal(seen.headers['content-length'], String(Buffer.byteLength(body)))

    const { seen: register } = await echo('/api/register/', {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ username: 'ann', email: 'ann@example.com', password: 'correct horse battery' })
    })
    t.same(JSON.parse(register.body), { username: 'ann', email: 'ann@example.com', password: 'correct horse battery' })
  })

  t.test('a given x-request-id is kept, seen upstream and echoed back', async (t) => {
    const { response, seen } = await echo('/api/games/', { headers: { 'x-request-id': 'client-req-42' } })
    t.equal(response.headers.get('x-request-id'), 'client-req-42')
    t.equal(seen.headers['x-request-id'], 'client-req-42')
  })

  t.test('without an x-request-id the gateway makes one, the same upstream and for the client', async (t) => {
    const { response, seen } = await echo('/api/games/')
    const id = response.headers.get('x-request-id')
    t.match(id, UUID)
    t.equal(seen.headers['x-request-id'], id)
  })

  t.test('an unusable x-request-id is replaced, consistently', async (t) => {
    const { response, seen } = await echo('/api/games/', { headers: { 'x-request-id': 'x'.repeat(300) } })
    const id = response.headers.get('x-request-id')
    t.match(id, UUID)
    t.equal(seen.headers['x-request-id'], id)
  })

  t.test('Authorization passes untouched; X-Forwarded-* are set', async (t) => {
    const { seen } = await echo('/api/profile/', { headers: { authorization: 'Bearer abc.def.ghi' } })
    t.equal(seen.headers.authorization, 'Bearer abc.def.ghi')
    t.equal(seen.headers['x-forwarded-for'], '127.0.0.1')
    t.equal(seen.headers['x-forwarded-proto'], 'http')
    t.match(seen.headers['x-forwarded-host'], /^127\.0\.0\.1:\d+$/)

    const { seen: chained } = await echo('/api/profile/', { headers: { 'x-forwarded-for': '203.0.113.9' } })
    // the gateway is the edge and believes no forwarded header by default: a client on loopback
    // rotating X-Forwarded-For got round the per-address login limit under npm start
    t.equal(chained.headers['x-forwarded-for'], '127.0.0.1')
  })
})

t.test('a client cannot pass a made-up X-Forwarded-For through a gateway that does not trust it', async (t) => {
  const auth = await startUpstream(t, 'auth')
  const { url } = await startGateway(t, { auth }, { TRUST_PROXY: 'false' })
  const response = await fetch(`${url}/api/profile/`, { headers: { 'x-forwarded-for': '203.0.113.9' } })
  const seen = await response.json() as Echo
  t.equal(seen.headers['x-forwarded-for'], '127.0.0.1', 'only the address the gateway saw')
})

t.test('an operator who names the proxy in front of the gateway gets its forwarded address believed', async (t) => {
  const auth = await startUpstream(t, 'auth')
  const { url } = await startGateway(t, { auth }, { TRUST_PROXY: 'loopback' })
  const response = await fetch(`${url}/api/profile/`, { headers: { 'x-forwarded-for': '203.0.113.9' } })
  const seen = await response.json() as Echo
  t.equal(seen.headers['x-forwarded-for'], '203.0.113.9', 'the address the trusted proxy reported')
})
