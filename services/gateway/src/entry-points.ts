import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'

/** The public entry points, as `GET /` lists them: where a newcomer, a player's client or staff start. */
export const ENTRY_POINTS = [
  { path: '/api/docs/', what: 'API reference (Swagger UI): every public route, try it out' },
  { path: '/api/redoc/', what: 'API reference (ReDoc)' },
  { path: '/api/schema/', what: 'the OpenAPI 3 document' },
  { path: '/api/dashboard/', what: 'the staff dashboard (log in as staff)' },
  { path: '/api/register/', what: 'create a player account (POST)' },
  { path: '/api/token/', what: 'log in: an access token (15 minutes) and a refresh token (POST)' },
  { path: '/api/games/', what: 'the catalog: games and their top-up products' },
  { path: '/api/topup/', what: 'buy a top-up (POST, with a bearer token)' },
  { path: '/api/orders/', what: 'your orders (with a bearer token)' }
] as const

const Index = Type.Object({
  name: Type.String(),
  entry_points: Type.Array(Type.Object({ path: Type.String(), what: Type.String() }))
})

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/** A page with no script and no style of its own: the gateway's strict defaults apply. */
function page (): string {
  const items = ENTRY_POINTS.map((e) => `<li><a href="${e.path}">${escapeHtml(e.path)}</a> — ${escapeHtml(e.what)}</li>`).join('\n')
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Top-up platform</title></head>
<body><h1>Top-up platform</h1><p>Where to start:</p><ul>
${items}
</ul></body></html>
`
}

/**
 * `GET /`: what is here, instead of a JSON 404. A browser (Accept: text/html)
 * gets a small page of links; anything else the same list as JSON.
 */
export default async function entryPoints (app: FastifyInstance): Promise<void> {
  app.get('/', {
    schema: { hide: true, response: { 200: Index } },
    exposeHeadRoute: true
  }, async (request, reply) => {
    // `GET http://other-host/` (an absolute-form target) is routed by its path; it is not ours to answer
    if (request.raw.url?.startsWith('/') !== true) return await reply.callNotFound()
    if ((request.headers.accept ?? '').includes('text/html')) {
      return await reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
        .send(page())
    }
    return { name: 'topup-platform gateway', entry_points: ENTRY_POINTS }
  })
}
