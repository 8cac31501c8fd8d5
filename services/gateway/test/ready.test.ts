import t from 'tap'
import { startAll, startGateway, startUpstream } from './helper.js'

interface Readiness { status: string, checks: Record<string, string> }

t.test('/ready is 200 when every upstream is ready, listing each', async (t) => {
  const { url } = await startAll(t)
  const response = await fetch(`${url}/ready`)
  t.equal(response.status, 200)
  t.same(await response.json(), { status: 'ready', checks: { auth: 'ok', orders: 'ok', payments: 'ok', analytics: 'ok' } })
})

t.test('/ready is 503 with one upstream down, naming it', async (t) => {
  const auth = await startUpstream(t, 'auth')
  const orders = await startUpstream(t, 'orders')
  const payments = await startUpstream(t, 'payments')
  const { url } = await startGateway(t, { auth, orders, payments })
  const response = await fetch(`${url}/ready`)
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
  const { url } = await startGateway(t, { auth, orders, payments, analytics })
  const response = await fetch(`${url}/ready`)
  t.equal(response.status, 503)
  const body = await response.json() as Readiness
  t.equal(body.checks.orders, 'unavailable: not ready (HTTP 503)')
  t.equal(body.checks.auth, 'ok')
})

t.test('/health is plain liveness, whatever the upstreams', async (t) => {
  const { url } = await startGateway(t, {})
  const response = await fetch(`${url}/health`)
  t.equal(response.status, 200)
  t.same(await response.json(), { status: 'ok' })
})
