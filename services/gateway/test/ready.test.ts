import t from 'tap'
import { startAll, startGateway, startUpstream } from './helper.js'

interface Readiness { status: string, checks: Record<string, string> }

t.test('/ready is 200 when every upstream is ready, listing each', async (t) => {
  const { adminUrl } = await startAll(t)
  const response = await fetch(`${adminUrl}/ready`)
  t.equal(response.status, 200)
  t.same(await response.json(), { status: 'ready', checks: { auth: 'ok', orders: 'ok', payments: 'ok', analytics: 'ok' } })
})

t.test('/ready is 503 with one upstream down, naming it', async (t) => {
  const auth = await startUpstream(t, 'auth')
  const orders = await startUpstream(t, 'orders')
  const payments = await startUpstream(t, 'payments')
  const { adminUrl } = await startGateway(t, { auth, orders, payments })
  const response = await fetch(`${adminUrl}/ready`)
  t.equal(response.status, 503)
  const body = await response.json() as Readiness
  t.equal(body.status, 'not_ready')
  t.same(Object.keys(body.checks).sort(), ['analytics', 'auth', 'orders', 'payments'])
  t.equal(body.checks.auth, 'ok')
  t.equal(body.checks.orders, 'ok')
  t.equal(body.checks.payments, 'ok')
  t.equal(body.checks.analytics, 'unavailable: connection refused')
})

t.test('/ready is 503 when an upstream runs but is not ready itself', async (t) => {
  const auth = await startUpstream(t, 'auth')
  const orders = await startUpstream(t, 'orders', { notReady: true })
  const payments = await startUpstream(t, 'payments')
  const analytics = await startUpstream(t, 'analytics')
  const { adminUrl } = await startGateway(t, { auth, orders, payments, analytics })
  const response = await fetch(`${adminUrl}/ready`)
  t.equal(response.status, 503)
  const body = await response.json() as Readiness
  t.equal(body.checks.orders, 'unavailable: not ready (HTTP 503)')
  t.equal(body.checks.auth, 'ok')
})

t.test('/health is plain liveness, whatever the upstreams', async (t) => {
  const { adminUrl } = await startGateway(t, {})
  const response = await fetch(`${adminUrl}/health`)
  t.equal(response.status, 200)
  t.same(await response.json(), { status: 'ok' })
})

t.test('the gateway\'s own internals are not served on the public port', async (t) => {
  const { url, adminUrl } = await startAll(t)
  for (const path of ['/health', '/ready', '/metrics', '/openapi.json']) {
    const publicAnswer = await fetch(`${url}${path}`)
    t.equal(publicAnswer.status, 404, `public ${path} → 404`)
    t.match(await publicAnswer.json(), { statusCode: 404, error: 'Not Found' })
    const admin = await fetch(`${adminUrl}${path}`)
    t.equal(admin.status, 200, `admin ${path} → 200`)
    await admin.arrayBuffer()
  }
  t.match(new URL(adminUrl).hostname, '127.0.0.1', 'the admin listener is on loopback by default')
  // the public API still answers on the public port, and not on the admin one's proxy routes only
  t.equal((await fetch(`${url}/api/games/`)).status, 200, 'proxied routes answer on the public port')
})
