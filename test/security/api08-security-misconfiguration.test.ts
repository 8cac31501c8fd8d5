/**
 * OWASP API8:2023 Security Misconfiguration. Headers: nosniff on every
 * response, a strict Content-Security-Policy and no framing on the pages
 * (dashboard, Swagger UI, ReDoc), no-store on token responses, no version or
 * framework banner, CORS not open. Errors: no stack trace, file path or
 * framework/driver internals for any malformed input. The gateway's own
 * internals only on its admin listener; no default credentials; production
 * refuses development settings.
 */
import t, { type Test } from 'tap'
import { demoTopup, type HttpResult } from '../system/harness.js'
import { loadAuthConfig } from '../../services/auth/dist/src/config.js'
import { loadGatewayConfig } from '../../services/gateway/dist/src/config.js'
import { loadOrdersConfig } from '../../services/orders/dist/src/config.js'
import { backdatingPolicy } from '../../services/orders/dist/src/routes/topup/index.js'
import { DEV_WEBHOOK_SECRET, loadPaymentsConfig } from '../../services/payments/dist/src/config.js'
import { INTERNALS, rawHttp, startPlatform, type Platform } from './helpers.js'

/** `content-security-policy` as directive → sources. */
function cspOf (header: string | null): Map<string, string[]> {
  const map = new Map<string, string[]>()
  for (const part of (header ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name !== undefined && name !== '') map.set(name.toLowerCase(), sources)
  }
  return map
}

function assertStrictCsp (t: Test, what: string, res: HttpResult<unknown>): void {
  const csp = cspOf(res.headers.get('content-security-policy'))
  t.ok(csp.size > 0, `${what}: has a Content-Security-Policy`)
  t.same(csp.get('default-src'), ["'self'"], `${what}: default-src 'self'`)
  const scripts = csp.get('script-src') ?? csp.get('default-src') ?? []
  t.notOk(scripts.some((s) => ["'unsafe-inline'", "'unsafe-eval'", '*', 'http:', 'https:', 'data:'].includes(s)), `${what}: script-src ${scripts.join(' ')} runs nothing inline, evaluated or from anywhere`)
  t.same(csp.get('object-src'), ["'none'"], `${what}: object-src 'none'`)
  const framing = csp.get('frame-ancestors')
  const xfo = res.headers.get('x-frame-options')
  t.ok((framing !== undefined && framing.join(' ') === "'none'") || /^deny$/i.test(xfo ?? ''), `${what}: cannot be framed (frame-ancestors ${framing?.join(' ') ?? '-'}, X-Frame-Options ${xfo ?? '-'})`)
  for (const [directive, sources] of csp) {
    t.notOk(sources.includes('*') || sources.some((s) => /^https?:\/\/(?!127\.0\.0\.1)/.test(s)), `${what}: ${directive} names no other host`)
  }
}

interface Probe { what: string, res: HttpResult<unknown> }

async function sampleResponses (platform: Platform): Promise<Probe[]> {
  const player = await platform.player('conf')
  const { http } = platform
  const probes: Probe[] = []
  const add = async (what: string, res: Promise<HttpResult<unknown>>): Promise<void> => { probes.push({ what, res: await res }) }
  for (const [via, base] of [['gateway', platform.url], ['direct', '']] as const) {
    const at = (service: keyof Platform['direct']): string => base === '' ? platform.direct[service] : base
    await add(`${via} 200 games`, http('GET', '/api/games/', { baseUrl: at('orders') }))
    await add(`${via} 200 profile`, http('GET', '/api/profile/', { baseUrl: at('auth'), token: player.access }))
    await add(`${via} 201 topup`, http('POST', '/api/topup/', { baseUrl: at('orders'), token: player.access, body: demoTopup }))
    await add(`${via} 204 logout`, http('POST', '/api/logout/', { baseUrl: at('auth'), body: { refresh: 'unknown-refresh-token' } }))
    await add(`${via} 400 register`, http('POST', '/api/register/', { baseUrl: at('auth'), body: { username: 'x' } }))
    await add(`${via} 401 orders`, http('GET', '/api/orders/', { baseUrl: at('orders') }))
    await add(`${via} 403 summary`, http('GET', '/api/analytics/summary/', { baseUrl: at('analytics'), token: player.access }))
    await add(`${via} 404 route`, http('GET', '/api/nothing-here/', { baseUrl: at('orders') }))
    await add(`${via} 404 order`, http('GET', '/api/orders/00000000-0000-4000-8000-000000000000', { baseUrl: at('orders'), token: player.access }))
    await add(`${via} 415 text body`, http('POST', '/api/token/', { baseUrl: at('auth'), body: 'username=x', headers: { 'content-type': 'text/plain' } }))
    await add(`${via} 413 body`, http('POST', '/api/token/', { baseUrl: at('auth'), body: JSON.stringify({ username: 'x'.repeat(1_100_000) }) }))
    await add(`${via} 401 webhook`, http('POST', '/api/payment/webhook/', { baseUrl: at('payments'), body: { transaction_id: 'x', status: 'success' } }))
    await add(`${via} 200 csv`, http('GET', '/api/export/orders/', { baseUrl: at('analytics'), token: platform.staffToken }))
    await add(`${via} 200 summary`, http('GET', '/api/analytics/summary/', { baseUrl: at('analytics'), token: platform.staffToken }))
    await add(`${via} 200 dashboard`, http('GET', '/api/dashboard/', { baseUrl: at('analytics') }))
    await add(`${via} 200 dashboard script`, http('GET', '/api/dashboard/assets/dashboard.js', { baseUrl: at('analytics') }))
    await add(`${via} HEAD games`, http('HEAD', '/api/games/', { baseUrl: at('orders') }))
  }
  const token = await http<{ access: string }>('POST', '/api/token/', { body: { username: player.username, password: player.password } })
  probes.push({ what: 'gateway 200 token', res: token })
  for (const path of ['/api/schema/', '/api/docs/', '/api/docs/static/index.html', '/api/redoc/', '/api/redoc/redoc.standalone.js']) {
    await add(`gateway docs ${path}`, http('GET', path))
  }
  for (const [service, url] of Object.entries(platform.direct)) {
    for (const path of ['/health', '/ready', '/metrics', '/openapi.json']) await add(`${service} own ${path}`, http('GET', path, { baseUrl: url }))
  }
  for (const path of ['/health', '/ready', '/metrics', '/openapi.json']) await add(`gateway admin ${path}`, http('GET', path, { baseUrl: platform.gateway.adminUrl }))
  return probes
}

t.test('API8 security misconfiguration', async (t) => {
  const platform = await startPlatform(t)
  const probes = await sampleResponses(platform)

  await t.test('X-Content-Type-Options: nosniff on every response; no banner', async (t) => {
    t.ok(probes.length > 40, `${probes.length} responses`)
    for (const { what, res } of probes) {
      t.equal(res.headers.get('x-content-type-options'), 'nosniff', `${what} (${res.status}): nosniff`)
      t.equal(res.headers.get('x-powered-by'), null, `${what}: no X-Powered-By`)
      t.notMatch(res.headers.get('server') ?? '', /\d|fastify|node|undici/i, `${what}: no version in Server`)
    }
    // answers the gateway makes itself, before any route: a bad path, a bad percent-encoding
    for (const target of ['/api/games/..%2f..%2fmetrics', '/api/games/%E0%A4%A', '/nothing']) {
      const res = await rawHttp(platform.gatewayPort, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`)
      t.equal(res.headers['x-content-type-options'], 'nosniff', `gateway's own ${String(res.status)} for ${target}: nosniff`)
    }
  })

  await t.test('the pages have a strict Content-Security-Policy and cannot be framed', async (t) => {
    const pages = probes.filter((p) => /dashboard$|docs \/api\/docs\/$|docs \/api\/redoc\/$/.test(p.what))
    t.equal(pages.length, 4, 'dashboard (gateway, direct), Swagger UI, ReDoc')
    for (const { what, res } of pages) {
      t.equal(res.status, 200, `${what} → 200`)
      assertStrictCsp(t, what, res)
    }
  })

  await t.test('token responses are not stored by any cache', async (t) => {
    const player = await platform.player('cache')
    for (const baseUrl of [platform.url, platform.direct.auth]) {
      const login = await platform.http<{ refresh: string }>('POST', '/api/token/', { baseUrl, body: { username: player.username, password: player.password } })
      const refreshed = await platform.http('POST', '/api/token/refresh/', { baseUrl, body: { refresh: login.body.refresh } })
      const failed = await platform.http('POST', '/api/token/', { baseUrl, body: { username: player.username, password: 'Not-It-At-All-1' }, headers: { 'x-forwarded-for': '203.0.113.5' } })
      for (const [what, res] of [['login', login], ['refresh', refreshed], ['failed login', failed]] as const) {
        t.match(res.headers.get('cache-control') ?? '', /no-store/, `${what} (${res.status}, ${baseUrl === platform.url ? 'gateway' : 'direct'}): Cache-Control ${res.headers.get('cache-control') ?? '-'}`)
      }
    }
  })

  await t.test('malformed input never shows a stack trace or an internal message', async (t) => {
    const player = await platform.player('errors')
    const bodies: Record<string, string> = {
      'truncated JSON': '{"username":',
      'not JSON': 'hello',
      'huge number': '{"username":"a","password":1e99999,"product_id":1e400,"product_price":1e400}',
      'NUL bytes': '{"username":"a\\u0000b","password":"p\\u0000","gamename":"\\u0000","email":"a\\u0000@b.c","preferred_game":"\\u0000"}',
      'a raw NUL': '{"username":"a\u0000b"}',
      'lone surrogate': '{"username":"\\ud800","password":"\\udfff"}',
      'prototype key': '{"__proto__":{"admin":true}}',
      'deep nesting': `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
      'a JSON string': '"just a string"',
      'null': 'null',
      'empty': ''
    }
    const routes: Array<{ method: string, path: string, direct: keyof Platform['direct'], token?: string }> = [
      { method: 'POST', path: '/api/register/', direct: 'auth' },
      { method: 'POST', path: '/api/token/', direct: 'auth' },
      { method: 'POST', path: '/api/token/refresh/', direct: 'auth' },
      { method: 'PATCH', path: '/api/profile/', direct: 'auth', token: player.access },
      { method: 'POST', path: '/api/topup/', direct: 'orders', token: player.access },
      { method: 'POST', path: '/api/games/', direct: 'orders', token: platform.staffToken },
      { method: 'PATCH', path: '/api/products/4', direct: 'orders', token: platform.staffToken },
      { method: 'POST', path: '/api/payment/webhook/', direct: 'payments' }
    ]
    let checked = 0
    for (const route of routes) {
      for (const baseUrl of [platform.url, platform.direct[route.direct]]) {
        for (const [what, body] of Object.entries(bodies)) {
          for (const contentType of ['application/json', 'application/json; charset=utf-16', 'text/plain']) {
            const res = await platform.http(route.method, route.path, { baseUrl, body, headers: { 'content-type': contentType, 'x-forwarded-for': '203.0.113.6' }, ...(route.token === undefined ? {} : { token: route.token }) })
            const label = `${route.method} ${route.path} ${what} as ${contentType} (${baseUrl === platform.url ? 'gateway' : 'direct'})`
            checked++
            if (res.status >= 500 || INTERNALS.test(res.text) || !/^application\/json/.test(res.headers.get('content-type') ?? '')) {
              t.fail(`${label} → ${res.status} ${res.text.slice(0, 200)}`)
            }
          }
        }
      }
    }
    t.ok(checked > 500, `${checked} malformed requests: each a 4xx in the JSON error shape, no internals`)
    const queries = [
      ['analytics', '/api/analytics/summary/?start_date=2024-13-45&end_date=2024-01-01', platform.staffToken],
      ['analytics', '/api/analytics/summary/?start_date=99999-01-01', platform.staffToken],
      ['analytics', '/api/analytics/summary/?start_date=2024-01-01&start_date=2024-02-01', platform.staffToken],
      ['analytics', '/api/analytics/summary/?start_date=2024-01-01%00', platform.staffToken],
      ['analytics', '/api/export/orders/?start_date=0000-01-01&end_date=9999-12-31', platform.staffToken],
      ['orders', '/api/orders/?cursor=WyIyMDI0LTAxLTAxVDAwOjAwOjAwLjAwMFoiLCIxIl0', player.access],
      ['orders', `/api/orders/?cursor=${'A'.repeat(190)}`, player.access],
      ['orders', '/api/orders/%00', player.access],
      ['orders', '/api/orders/\u00e9', player.access],
      ['orders', '/api/games/%E0%A4%A', player.access],
      ['auth', '/api/profile/%E0%A4%A', player.access]
    ] as const
    for (const [service, path, token] of queries) {
      for (const baseUrl of [platform.url, platform.direct[service]]) {
        const res = await platform.http('GET', path, { baseUrl, token })
        const label = `GET ${path} (${baseUrl === platform.url ? 'gateway' : 'direct'}) → ${res.status}`
        t.ok(res.status >= 400 && res.status < 500, label)
        t.notMatch(res.text, INTERNALS, `${label}: no internals (${res.text.slice(0, 120)})`)
        t.match(res.body, { statusCode: res.status, error: String, message: String }, `${label}: the error shape`)
      }
    }
  })

  await t.test('the gateway\'s own internals are on its admin listener only', async (t) => {
    for (const path of ['/metrics', '/health', '/ready', '/openapi.json']) {
      const pub = await platform.http('GET', path)
      t.equal(pub.status, 404, `public port ${path} → 404`)
      const admin = await platform.http('GET', path, { baseUrl: platform.gateway.adminUrl })
      t.equal(admin.status, 200, `admin listener ${path} → 200`)
    }
    t.match((await platform.http('GET', '/metrics', { baseUrl: platform.gateway.adminUrl })).text, /# HELP/, 'the metrics are there')
    t.equal(new URL(platform.gateway.adminUrl).hostname, '127.0.0.1', 'the admin listener is on loopback (ADMIN_HOST default)')
    t.equal(loadGatewayConfig({}).ADMIN_HOST, '127.0.0.1', 'and that is the default')
  })

  await t.test('CORS is not open; TRACE echoes nothing', async (t) => {
    const player = await platform.player('cors')
    for (const baseUrl of [platform.url, platform.direct.orders, platform.direct.auth]) {
      const preflight = await platform.http('OPTIONS', '/api/orders/', { baseUrl, headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } })
      const simple = await platform.http('GET', '/api/orders/', { baseUrl, token: player.access, headers: { origin: 'https://evil.example' } })
      for (const [what, res] of [['preflight', preflight], ['GET with Origin', simple]] as const) {
        const allow = res.headers.get('access-control-allow-origin')
        t.ok(allow === null || (allow !== '*' && allow !== 'https://evil.example'), `${what}: Access-Control-Allow-Origin ${allow ?? '-'}`)
        t.not(res.headers.get('access-control-allow-credentials'), 'true', `${what}: no credentials allowed`)
      }
      t.ok(preflight.status >= 400 || preflight.status === 204, `a foreign preflight → ${preflight.status}`)
    }
    const trace = await rawHttp(platform.gatewayPort, `TRACE /api/games/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${player.access}\r\nConnection: close\r\n\r\n`)
    t.not(trace.status, 200, `TRACE → ${String(trace.status)}`)
    t.notMatch(trace.raw, player.access.slice(-20), 'the credentials are not echoed')
  })

  await t.test('no default credentials; no staff without the STAFF_* settings', async (t) => {
    for (const [username, password] of [['admin', 'admin'], ['admin', 'password'], ['root', 'root'], ['staff', 'staff'], ['administrator', 'changeme'], ['sec_staff', 'sec_staff']]) {
      const res = await platform.http('POST', '/api/token/', { body: { username, password }, headers: { 'x-forwarded-for': '203.0.113.7' } })
      t.equal(res.status, 401, `${username}/${password} → 401`)
    }
  })

  await t.test('production refuses development settings', (t) => {
    t.throws(() => loadPaymentsConfig({ NODE_ENV: 'production' }), /PAYMENT_WEBHOOK_SECRET/, 'payments: no webhook secret → refused')
    t.throws(() => loadPaymentsConfig({ NODE_ENV: 'production', PAYMENT_WEBHOOK_SECRET: DEV_WEBHOOK_SECRET }), /PAYMENT_WEBHOOK_SECRET/, 'payments: the development secret → refused')
    t.throws(() => loadAuthConfig({ NODE_ENV: 'production' }), /AUTH_PRIVATE_KEY/, 'auth: no signing key → refused (generated keys are for development)')
    t.throws(() => loadOrdersConfig({ NODE_ENV: 'production', DEMO_BACKDATING: 'true' }), /DEMO_BACKDATING/, 'orders: backdating → refused')
    const production = loadOrdersConfig({ NODE_ENV: 'production' })
    t.equal(backdatingPolicy(production).allowed, false, 'orders: X-Demo-Created-At is refused in production')
    t.equal(loadGatewayConfig({}).TRUST_PROXY, 'false', 'gateway: no forwarded header is believed by default (it is the edge)')
    t.equal(loadGatewayConfig({}).HOST, '127.0.0.1', 'services listen on loopback unless told otherwise')
    t.end()
  })
})
