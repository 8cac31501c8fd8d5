import t from 'tap'
import { Type } from 'typebox'
import { validate, compileErrors } from '@readme/openapi-parser'
import { createServer, errorResponses } from '@topup/service-kit'
import type { AddressInfo } from 'node:net'
import { mergeDocuments } from '../src/docs/merge.js'
import { startGateway, type Teardown } from './helper.js'

/** A real service-kit service describing two public routes and one internal one. */
async function startDocumentedService (t: Teardown, service: string, publicPath: string): Promise<string> {
  const app = createServer({
    service,
    logLevel: 'silent',
    docs: { securitySchemes: { webhookSignature: { type: 'apiKey', in: 'header', name: 'X-Topup-Signature' } } }
  })
  // routes inside a plugin, as in the services: registered after the docs plugin has loaded
  app.register(async (app) => {
  app.get(publicPath, {
    schema: { tags: [service], summary: `list of ${service}`, response: { 200: Type.Array(Type.Object({ id: Type.Integer() })), ...errorResponses(401) } }
  }, async () => [])
  app.post(`${publicPath}:id`, {
    schema: { tags: [service], summary: `change one of ${service}`, params: Type.Object({ id: Type.Integer() }), body: Type.Object({ name: Type.String() }), response: { 200: Type.Object({ ok: Type.Boolean() }) } }
  }, async () => ({ ok: true }))
  app.get('/internal/metrics-like', { schema: { summary: 'not public' } }, async () => ({}))
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  t.teardown(() => app.close())
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
}

t.test('the gateway merges the services\' own documents into one valid OpenAPI 3 document', async (t) => {
  const orders = await startDocumentedService(t, 'orders', '/api/games/')
  const payments = await startDocumentedService(t, 'payments', '/api/payment/webhook/')
  const { url } = await startGateway(t, { orders, payments })

  const response = await fetch(`${url}/api/schema/`)
  t.equal(response.status, 200)
  const document = await response.json() as { openapi: string, paths: Record<string, Record<string, { 'x-service': string, summary: string }>>, components: { securitySchemes: Record<string, unknown> }, info: { description: string }, servers: Array<{ url: string }> }
  t.equal(document.openapi, '3.0.3')
  t.same(Object.keys(document.paths).sort(), ['/api/games/', '/api/games/{id}', '/api/payment/webhook/', '/api/payment/webhook/{id}'])
  t.equal(document.paths['/api/games/']?.get?.['x-service'], 'orders')
  t.equal(document.paths['/api/games/']?.get?.summary, 'list of orders')
  t.notOk(JSON.stringify(document).includes('/internal/'), 'internal routes are left out')
  t.notOk(JSON.stringify(document.paths).includes('/openapi.json'), 'service documents themselves are left out')
  t.same(Object.keys(document.components.securitySchemes).sort(), ['bearerAuth', 'webhookSignature'])
  t.match(document.info.description, /did not answer\): auth, analytics/)
  t.same(document.servers, [{ url: '/', description: 'this gateway' }])

  const result = await validate(structuredClone(document) as never)
  t.ok(result.valid, result.valid ? 'valid OpenAPI 3' : compileErrors(result))

  const noSlash = await fetch(`${url}/api/schema`)
  t.equal(noSlash.status, 200)
})

t.test('components of two services never clash and references follow them', async (t) => {
  const component = { type: 'object', properties: { message: { type: 'string' } } }
  const doc = (service: string) => ({
    openapi: '3.0.3',
    info: { title: service, version: '1' },
    paths: {
      [service === 'orders' ? '/api/orders/' : '/api/payment/webhook/']: {
        get: { responses: { 400: { description: 'bad', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } } }
      }
    },
    components: { schemas: { Error: component } }
  })
  const merged = mergeDocuments([
    { service: 'orders', document: doc('orders') as never },
    { service: 'payments', document: doc('payments') as never }
  ], { version: '1' })
  t.same(Object.keys(merged.components?.schemas ?? {}).sort(), ['orders.Error', 'payments.Error'])
  t.match(JSON.stringify(merged.paths['/api/orders/']), /#\/components\/schemas\/orders\.Error/)
  t.match(JSON.stringify(merged.paths['/api/payment/webhook/']), /#\/components\/schemas\/payments\.Error/)
  const result = await validate(structuredClone(merged) as never)
  t.ok(result.valid, result.valid ? 'valid' : compileErrors(result))
})

t.test('a path is documented only under the service the gateway routes it to', async (t) => {
  const merged = mergeDocuments([
    { service: 'payments', document: { openapi: '3.0.3', info: { title: 'p', version: '1' }, paths: { '/api/orders/': { get: { responses: { 200: { description: 'ok' } } } } } } }
  ], { version: '1' })
  t.same(merged.paths, {}, 'payments cannot claim an orders path')
})

t.test('Swagger UI and ReDoc are served by the gateway from local files', async (t) => {
  const orders = await startDocumentedService(t, 'orders', '/api/games/')
  const { url } = await startGateway(t, { orders })

  const ui = await fetch(`${url}/api/docs/`)
  t.equal(ui.status, 200)
  const html = await ui.text()
  t.match(html, /swagger-ui/)
  t.notMatch(html, /https?:\/\/(?!127\.0\.0\.1)/, 'nothing from another host')
  const spec = await fetch(`${url}/api/docs/json`)
  t.equal(spec.status, 200)
  t.ok(Object.keys((await spec.json() as { paths: object }).paths).includes('/api/games/'), 'Swagger UI shows the merged document')
  const bundle = await fetch(`${url}/api/docs/static/swagger-ui-bundle.js`)
  t.equal(bundle.status, 200)
  t.ok((await bundle.arrayBuffer()).byteLength > 100_000, 'Swagger UI\'s own bundle')

  const redoc = await fetch(`${url}/api/redoc/`)
  t.equal(redoc.status, 200)
  const page = await redoc.text()
  t.match(page, /<redoc spec-url="\/api\/schema\/"/)
  t.match(page, /src="\/api\/redoc\/redoc.standalone.js"/)
  t.notMatch(page, /https?:\/\//, 'no CDN')
  const script = await fetch(`${url}/api/redoc/redoc.standalone.js`)
  t.equal(script.status, 200)
  t.ok((await script.text()).length > 100_000, 'the ReDoc bundle itself')
})
