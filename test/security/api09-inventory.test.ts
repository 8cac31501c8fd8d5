/**
 * OWASP API9:2023 Improper Inventory Management. The merged OpenAPI document
 * (/api/schema/) is the inventory: every operation it lists answers through
 * the gateway, and whatever answers through the gateway is listed (or is the
 * reference itself: /api/schema/, /api/docs/, /api/redoc/). The services'
 * internal routes and the usual forgotten ones (/admin, /.env, old versions,
 * debug and framework endpoints) answer nowhere but where they belong.
 */
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import type { OpenAPIV3 } from 'openapi-types'
import { startPlatform, type Platform } from './helpers.js'

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/** The reference pages the gateway serves itself, outside the document. */
// the reference itself, and `/`: the gateway's list of where to start (services/gateway/src/entry-points.ts)
const REFERENCE = /^(\/api\/(schema|docs|redoc)(\/|$)|\/$)/

/** An answer that came from no route at all (service-kit's not-found handler). */
const isRouteNotFound = (status: number, body: unknown): boolean =>
  status === 404 && /^Route [A-Z]+ .* not found$/.test(String((body as { message?: unknown }).message))

interface Operation { method: string, template: string, pattern: RegExp }

function operationsOf (document: OpenAPIV3.Document): Operation[] {
  const out: Operation[] = []
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of METHODS) {
      if (item?.[method] === undefined) continue
      const pattern = new RegExp(`^${path.replace(/\/$/, '').replace(/\{[^}]+\}/g, '[^/]+')}/?(\\?.*)?$`)
      out.push({ method: method.toUpperCase(), template: path, pattern })
      if (method === 'get') out.push({ method: 'HEAD', template: path, pattern })
    }
  }
  return out
}

/** A concrete path for a template: real ids where the catalog has them. */
function concrete (template: string): string {
  return template
    .replace('/api/orders/{id}', `/api/orders/${randomUUID()}`)
    .replace('{name}', 'dashboard.js')
    .replace(/\{[^}]+\}/g, '1')
    .replace(/:[A-Za-z_]+/g, '1')
}

t.test('API9 improper inventory management', async (t) => {
  const platform = await startPlatform(t)
  const schema = await platform.http<OpenAPIV3.Document>('GET', '/api/schema/')
  t.equal(schema.status, 200)
  const operations = operationsOf(schema.body)
  const documented = (method: string, path: string): boolean => operations.some((o) => o.method === method && o.pattern.test(path))
  t.ok(operations.length >= 20, `${operations.length} documented operations (HEAD included)`)

  /** Answers through the gateway: fine when documented, or the reference, or no route at all. */
  async function check (t: Test, method: string, path: string, baseUrl = platform.url): Promise<void> {
    const res = await platform.http(method, path, { baseUrl, ...(['POST', 'PUT', 'PATCH'].includes(method) ? { body: {} } : {}) })
    const notFound = isRouteNotFound(res.status, res.body) || (res.status === 404 && method === 'HEAD' && !documented(method, path))
    const ok = notFound || documented(method, path) || (baseUrl === platform.url && REFERENCE.test(path))
    t.ok(ok, `${method} ${path} → ${res.status}${notFound ? ' (no route)' : documented(method, path) ? ' (documented)' : REFERENCE.test(path) ? ' (the reference)' : ' — UNDOCUMENTED'}`)
    t.ok(res.status < 500, 'not a 5xx')
  }

  await t.test('every documented operation answers through the gateway', async (t) => {
    for (const op of operations) {
      const path = concrete(op.template)
      const res = await platform.http(op.method, path, ['POST', 'PUT', 'PATCH'].includes(op.method) ? { body: {} } : {})
      t.notOk(isRouteNotFound(res.status, res.body), `${op.method} ${op.template} → ${res.status} (a route answered)`)
    }
  })

  await t.test('every route of every service that answers through the gateway is documented', async (t) => {
    const apps: Record<string, Platform['auth']['app'] | undefined> = {
      auth: platform.auth.app, orders: platform.orders[0]?.app, payments: platform.payments[0]?.app, analytics: platform.analytics?.app, gateway: platform.gateway.app
    }
    let probed = 0
    for (const [service, app] of Object.entries(apps)) {
      for (const route of app?.routeTable ?? []) {
        if (route.url.includes('*') || route.method === 'OPTIONS') continue
        probed++
        await check(t, route.method, concrete(route.url))
      }
      t.ok((app?.routeTable.length ?? 0) > 0, `${service}: ${app?.routeTable.length ?? 0} routes registered`)
    }
    t.ok(probed > 30, `${probed} registered routes probed through the gateway`)
  })

  await t.test('internal routes of the services are not reachable through the gateway, only on their own ports', async (t) => {
    for (const path of ['/metrics', '/openapi.json', '/ready', '/health', '/.well-known/jwks.json']) {
      const res = await platform.http('GET', path)
      t.ok(isRouteNotFound(res.status, res.body), `gateway ${path} → ${res.status}`)
    }
    for (const [service, url] of Object.entries(platform.direct)) {
      for (const path of ['/metrics', '/openapi.json', '/ready', '/health']) {
        t.equal((await platform.http('GET', path, { baseUrl: url })).status, 200, `${service}'s own ${path} → 200 (where operators expect it)`)
      }
    }
  })

  await t.test('no forgotten route answers, at the gateway or at any service', async (t) => {
    const probes = [
      '/admin', '/admin/', '/api/admin', '/api/admin/', '/api/admin/users', '/debug', '/debug/pprof', '/api/debug/', '/.env', '/.git/config', '/.git/HEAD',
      '/api/internal', '/api/internal/', '/api/v1/orders/', '/api/v1/token/', '/api/v2/topup/', '/v1/api/games/', '/api/v0/register/',
      '/documentation', '/documentation/json', '/documentation/yaml', '/docs', '/docs/json', '/swagger', '/swagger.json', '/swagger-ui.html', '/api/swagger.json',
      '/api/openapi.json', '/openapi.yaml', '/api-docs', '/v2/api-docs', '/v3/api-docs', '/graphql', '/api/graphql', '/server-status', '/actuator',
      '/actuator/health', '/actuator/env', '/console', '/phpinfo.php', '/wp-admin/', '/api/users/', '/api/users/1', '/api/user/', '/api/staff/',
      '/api/test/', '/api/dev/', '/api/demo/', '/api/health', '/api/metrics', '/api/ready', '/api/status', '/status', '/version', '/api/version',
      '/config', '/api/config', '/api/payments/', '/api/payment/', '/api/payment/transactions/', '/api/payment/webhook/test/', '/api/transactions/',
      '/api/webhook/', '/api/events/', '/api/outbox/', '/api/inbox/', '/api/dlq/', '/api/keys/', '/api/.well-known/jwks.json', '/api/token/verify/',
      '/api/token/introspect/', '/api/register/admin/', '/api/profile/all/', '/api/export/users/', '/api/export/all/', '/api/analytics/users/',
      '/api/dashboard/data/', '/api/dashboard/assets/../../../../etc/passwd', '/api/orders/export', '/api/games/all/', '/api/topup/list/', '/api/logout/all/'
    ]
    for (const path of probes) {
      for (const method of ['GET', 'POST']) await check(t, method, path)
    }
    for (const [service, url] of Object.entries(platform.direct)) {
      for (const path of probes) {
        const res = await platform.http('GET', path, { baseUrl: url })
        if (!(isRouteNotFound(res.status, res.body) || documented('GET', path) || res.status === 400)) t.fail(`${service} GET ${path} → ${res.status}: an undocumented route answers`)
      }
      t.pass(`${service}: none of the ${probes.length} forgotten routes answers`)
    }
  })

  await t.test('undocumented methods on documented paths find no route', async (t) => {
    const attempts: Array<[string, string]> = [
      ['DELETE', '/api/games/1'], ['PUT', '/api/games/1'], ['GET', '/api/games/1'], ['DELETE', '/api/products/4'], ['GET', '/api/products/'],
      ['PUT', '/api/profile/'], ['DELETE', '/api/profile/'], ['POST', '/api/profile/'], ['DELETE', `/api/orders/${randomUUID()}`], ['PATCH', `/api/orders/${randomUUID()}`],
      ['GET', '/api/topup/'], ['PATCH', '/api/topup/'], ['GET', '/api/payment/webhook/'], ['PUT', '/api/payment/webhook/'], ['GET', '/api/token/'],
      ['GET', '/api/register/'], ['DELETE', '/api/analytics/summary/'], ['POST', '/api/export/orders/'], ['POST', '/api/dashboard/']
    ]
    for (const [method, path] of attempts) await check(t, method, path)
  })
})
