import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { FastifyInstance, FastifyReply } from 'fastify'
import type {} from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { OpenAPIV3 } from 'openapi-types'
import { SERVICES, type ServiceName } from '../routes.js'
import type { Instance } from '../upstreams.js'
import { mergeDocuments, type ServiceDocument } from './merge.js'

/** Where a service's instances are (an UpstreamGroup). */
export interface InstanceSource {
  instances: () => Promise<Instance[]>
}

export interface DocsOptions {
  upstreams: Record<ServiceName, InstanceSource>
  /** How old the merged document may get before the services are asked again. */
  refreshMs: number
  fetchTimeoutMs: number
}

const require = createRequire(import.meta.url)
/**
 * ReDoc's bundle, read once. Its side menu shows a logo from cdn.redoc.ly; the
 * pages must work offline and load nothing from another host, so that one URL
 * is pointed at an inline (empty) image.
 */
const REDOC_BUNDLE = readFileSync(require.resolve('redoc/bundles/redoc.standalone.js'), 'utf8')
  .replaceAll('https://cdn.redoc.ly/redoc/logo-mini.svg', 'data:image/svg+xml,%3Csvg xmlns=%22http://www.w3.org/2000/svg%22/%3E')

const REDOC_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Top-up platform API — reference</title>
  <link rel="icon" href="data:,">
  <style>body { margin: 0; padding: 0; }</style>
</head>
<body>
  <redoc spec-url="/api/schema/" hide-download-button="false"></redoc>
  <script src="/api/redoc/redoc.standalone.js"></script>
</body>
</html>
`

/**
 * The reference pages load nothing from another host and run no inline script.
 * Styles may be inline: ReDoc's styled-components and Swagger UI's React write
 * style elements and attributes at run time (both pages break without it);
 * ReDoc's search index runs in a worker made from a blob: URL.
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "object-src 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self' blob:"
].join('; ')

function secureDocsHeaders (reply: FastifyReply): void {
  reply.header('content-security-policy', DOCS_CSP)
  reply.header('x-frame-options', 'DENY')
  reply.header('referrer-policy', 'no-referrer')
}

async function fetchDocument (base: string, timeoutMs: number): Promise<OpenAPIV3.Document> {
  const response = await fetch(new URL('/openapi.json', base), { signal: AbortSignal.timeout(timeoutMs) })
  if (!response.ok) throw new Error(`HTTP ${response.status}`)
  return await response.json() as OpenAPIV3.Document
}

/** The service's document from the first of its instances that gives it (every instance runs the same build). */
async function fetchFromAny (source: InstanceSource, timeoutMs: number): Promise<OpenAPIV3.Document> {
  const instances = await source.instances()
  const reasons: string[] = []
  for (const instance of instances) {
    try {
      return await fetchDocument(instance.origin, timeoutMs)
    } catch (err) {
      reasons.push(`${instance.label}: ${(err as Error).message}`)
    }
  }
  throw new Error(reasons.join('; '))
}

/**
 * The platform's API reference, served by the gateway and never loaded from
 * another host: `/api/schema/` (the merged OpenAPI document, built from what
 * the services publish), `/api/docs/` (Swagger UI's own files) and
 * `/api/redoc/` (ReDoc's standalone bundle from the `redoc` package).
 */
export default async function docs (app: FastifyInstance, options: DocsOptions): Promise<void> {
  let merged: OpenAPIV3.Document = mergeDocuments(SERVICES.map((service) => ({ service, document: null })), { version: '1.0.0' })
  let fetchedAt = 0
  let refreshing: Promise<void> | null = null

  async function refresh (): Promise<void> {
    const documents: ServiceDocument[] = await Promise.all(SERVICES.map(async (service) => {
      try {
        return { service, document: await fetchFromAny(options.upstreams[service], options.fetchTimeoutMs) }
      } catch (err) {
        app.log.debug({ service, reason: (err as Error).message }, 'service document unavailable')
        return { service, document: null }
      }
    }))
    merged = mergeDocuments(documents, { version: '1.0.0' })
    // a document with a service missing is asked for again on the next request
    fetchedAt = documents.every((d) => d.document !== null) ? Date.now() : 0
  }

  async function current (): Promise<OpenAPIV3.Document> {
    if (Date.now() - fetchedAt > options.refreshMs) {
      refreshing ??= refresh().finally(() => { refreshing = null })
      await refreshing
    }
    return merged
  }

  app.get('/api/schema/', { schema: { hide: true } }, async () => await current())

  await app.register(async function swaggerPages (scope) {
    // Swagger UI reads the document synchronously: make it current first
    scope.addHook('onRequest', async (_request, reply) => {
      secureDocsHeaders(reply)
      await current()
    })
    await scope.register(swaggerUi, {
      routePrefix: '/api/docs',
      transformSpecification: () => merged,
      transformSpecificationClone: true,
      uiConfig: { docExpansion: 'list', deepLinking: true, persistAuthorization: true, tryItOutEnabled: true },
      theme: { title: 'Top-up platform API' }
    })
  })

  app.get('/api/redoc/', { schema: { hide: true } }, async (_request, reply) => {
    secureDocsHeaders(reply)
    return await reply.type('text/html; charset=utf-8').send(REDOC_PAGE)
  })
  app.get('/api/redoc/redoc.standalone.js', { schema: { hide: true } }, async (_request, reply) => {
    secureDocsHeaders(reply)
    return await reply.type('application/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(REDOC_BUNDLE)
  })
}
