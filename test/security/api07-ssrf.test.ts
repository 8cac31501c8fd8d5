/**
 * OWASP API7:2023 Server Side Request Forgery. No input makes the platform
 * fetch a URL of the client's choosing: the gateway sends a request only to
 * the upstream its path prefix names, whatever the request target
 * (absolute-form, scheme-relative, traversal in any encoding), Host,
 * X-Forwarded-Host or Upgrade say; no internal route of a service is reached.
 *
 * "Another host" is a canary listener on loopback that counts connections:
 * every probe goes over a raw socket to the gateway on 127.0.0.1, and nothing
 * here sends a packet off this machine (the one probe naming a cloud metadata
 * address runs only once the canary showed the gateway fetches nothing).
 */
import t from 'tap'
import { rawHttp, requestId, servicesThatSaw, startCanary, startPlatform } from './helpers.js'

/** What an internal route's body looks like (metrics, keys, a service's own document, readiness). */
const INTERNAL_BODY = /# HELP|# TYPE|process_cpu|nodejs_|"keys"\s*:\s*\[|"checks"|"status"\s*:\s*"(ok|ready)"|canary/

t.test('API7 server side request forgery', async (t) => {
  const platform = await startPlatform(t)
  const canary = await startCanary(t)
  const port = platform.gatewayPort
  const authPort = new URL(platform.direct.auth).port
  const ordersPort = new URL(platform.direct.orders).port
  const player = await platform.player('ssrf')

  const send = async (target: string, headers: string[] = [], host = `127.0.0.1:${port}`): Promise<{ id: string, res: Awaited<ReturnType<typeof rawHttp>> }> => {
    const id = requestId('ssrf')
    const res = await rawHttp(port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${headers.map((h) => `${h}\r\n`).join('')}x-request-id: ${id}\r\nConnection: close\r\n\r\n`)
    return { id, res }
  }

  await t.test('request targets that name another host or an internal route are refused by the gateway itself', async (t) => {
    const c = canary.port
    const targets = [
      `http://127.0.0.1:${c}/`,
      `http://127.0.0.1:${c}/api/games/`,
      `https://127.0.0.1:${c}/api/games/`,
      `http://127.0.0.1:${authPort}/.well-known/jwks.json`,
      `http://127.0.0.1:${ordersPort}/metrics`,
      `//127.0.0.1:${c}/api/games/`,
      `/api/games@127.0.0.1:${c}/`,
      '/metrics', '/ready', '/health', '/openapi.json', '/.well-known/jwks.json', '/documentation/json',
      '/api/../metrics', '/api/%2e%2e/metrics', '/api/games/../../metrics', '/api/games/%2e%2e/%2e%2e/metrics',
      '/api/games/%2E%2E/%2E%2E/metrics', '/api/games/.%2e/.%2e/metrics', '/api/games/..%2f..%2fmetrics', '/api/games/..%2F..%2Fmetrics',
      '/api/games/..%252f..%252fmetrics', '/api/games/\\..\\..\\..\\metrics', '/api/games/%5c..%5c..%5c..%5cmetrics',
      '/api/games//..//..//metrics', '/api/games/..;/..;/metrics', '/api/games%2f..%2f..%2fmetrics', '/api/games/%c0%ae%c0%ae/%c0%ae%c0%ae/metrics',
      '/api/orders/..%2f..%2f.well-known%2fjwks.json', '/api/token/..%2f..%2f.well-known/jwks.json', '/api/profile/%2e%2e/%2e%2e/ready',
      '/api/export/..%2f..%2fopenapi.json', '/api/payment/..%2f..%2fmetrics', '//metrics', '///metrics', '/%2fmetrics', '/.%2fmetrics'
    ]
    for (const target of targets) {
      const { id, res } = await send(target)
      t.ok(res.status === 400 || res.status === 404, `GET ${target} → ${String(res.status)}`)
      t.notMatch(res.body, INTERNAL_BODY, 'no internal content in the answer')
      t.same(servicesThatSaw(platform, id), [], 'no service saw the request')
    }
    t.equal(canary.connections(), 0, 'the canary ("another host") was never contacted')
  })

  await t.test('Host, forwarded and rewrite headers do not choose the upstream', async (t) => {
    const c = canary.port
    const hostile = [
      [`Host: 127.0.0.1:${c}`],
      ['Host: 169.254.169.254'],
      [`X-Forwarded-Host: 127.0.0.1:${c}`, 'X-Forwarded-Proto: gopher', `X-Forwarded-Server: 127.0.0.1:${c}`],
      [`Forwarded: host=127.0.0.1:${c};proto=http;for=127.0.0.9`],
      ['X-Original-URL: /metrics', 'X-Rewrite-URL: /metrics', 'X-Override-URL: /metrics'],
      [`X-Forwarded-Prefix: http://127.0.0.1:${c}/`, `Referer: http://127.0.0.1:${c}/`, `Origin: http://127.0.0.1:${c}`]
    ]
    for (const headers of hostile) {
      const id = requestId('host')
      // a raw request whose Host header is the hostile one (when one is given)
      const hostLine = headers.find((h) => h.startsWith('Host:')) ?? `Host: 127.0.0.1:${port}`
      const others = headers.filter((h) => !h.startsWith('Host:'))
      const res = await rawHttp(port, `GET /api/games/?next=http://127.0.0.1:${c}/ HTTP/1.1\r\n${hostLine}\r\n${others.map((h) => `${h}\r\n`).join('')}x-request-id: ${id}\r\nConnection: close\r\n\r\n`)
      t.equal(res.status, 200, `${headers.join(', ')} → 200`)
      t.match(res.body, /"game_id":"coc123"/, 'the catalog, from the orders service')
      t.notMatch(res.body, INTERNAL_BODY)
      t.same(servicesThatSaw(platform, id), ['orders'], 'orders (the prefix\'s upstream) and nothing else answered')
    }
    // the API document is not rebuilt from the request's host (Swagger UI would send "Try it out" there)
    const schema = await rawHttp(port, `GET /api/schema/ HTTP/1.1\r\nHost: 127.0.0.1:${c}\r\nX-Forwarded-Host: 127.0.0.1:${c}\r\nConnection: close\r\n\r\n`, { untilClose: true, timeoutMs: 10_000 })
    t.equal(schema.status, 200, 'the merged document')
    t.notMatch(schema.raw, String(c), 'does not mention the attacker\'s host')
    t.equal(canary.connections(), 0, 'the canary was never contacted')
  })

  await t.test('no tunnel, upgrade or smuggled request reaches anything', async (t) => {
    const c = canary.port
    const connectId = requestId('connect')
    const connect = await rawHttp(port, `CONNECT 127.0.0.1:${c} HTTP/1.1\r\nHost: 127.0.0.1:${c}\r\nx-request-id: ${connectId}\r\n\r\n`, { timeoutMs: 3000 })
    t.not(connect.status, 200, `CONNECT → ${String(connect.status ?? 'closed')}, no tunnel`)
    const ws = await send('/api/games/', ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'])
    t.not(ws.res.status, 101, `a WebSocket upgrade → ${String(ws.res.status)}, not 101`)
    const h2c = await send('/api/games/', ['Upgrade: h2c', 'HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA', 'Connection: Upgrade, HTTP2-Settings'])
    t.not(h2c.res.status, 101, `an h2c upgrade (smuggling) → ${String(h2c.res.status)}, not 101`)
    // CL.TE: a second request hidden in a body that two parsers could read differently
    const smuggledId = requestId('smuggled')
    const hidden = `GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nx-request-id: ${smuggledId}\r\n\r\n`
    const body = `0\r\n\r\n${hidden}`
    const smuggle = await rawHttp(port, `POST /api/games/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\nAuthorization: Bearer ${player.access}\r\n\r\n${body}`, { untilClose: true, timeoutMs: 3000 })
    t.ok(smuggle.status === 400 || smuggle.status === 403, `Content-Length with Transfer-Encoding → ${String(smuggle.status)}`)
    t.notMatch(smuggle.raw, INTERNAL_BODY, 'no metrics came back')
    t.same(servicesThatSaw(platform, smuggledId), [], 'the hidden request reached no service')
    t.same(servicesThatSaw(platform, connectId), [], 'nor did the CONNECT')
    t.equal(canary.connections(), 0, 'the canary was never contacted')
  })

  await t.test('no stored field is ever fetched', async (t) => {
    const url = `http://127.0.0.1:${canary.port}/avatar.png`
    const patched = await platform.http('PATCH', '/api/profile/', { token: player.access, body: { preferred_game: url } })
    t.equal(patched.status, 200, 'a URL is just text in a profile')
    const game = await platform.http('POST', '/api/games/', { token: platform.staffToken, body: { name: url, game_id: 'urlgame' } })
    t.equal(game.status, 201, 'and in a game name')
    await platform.http('GET', '/api/profile/', { token: player.access })
    await platform.http('GET', '/api/games/')
    t.equal(canary.connections(), 0, 'nothing fetched it')
  })

  await t.test('a cloud metadata address in the request target is refused at once', async (t) => {
    if (canary.connections() !== 0) {
      t.fail('the gateway contacted the canary: not probing a real address')
      return
    }
    const { id, res } = await send('http://169.254.169.254/latest/meta-data/', [], '169.254.169.254')
    t.ok(res.status === 400 || res.status === 404, `GET http://169.254.169.254/latest/meta-data/ → ${String(res.status)}`)
    t.ok(res.elapsedMs < 2000, `answered in ${res.elapsedMs} ms (no outbound attempt to time out)`)
    t.same(servicesThatSaw(platform, id), [])
  })

  const stillUp = await platform.http('GET', '/api/games/')
  t.equal(stillUp.status, 200, 'the gateway still serves')
})
