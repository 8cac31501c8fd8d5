import type { OpenAPIV3 } from 'openapi-types'
import { ROUTES, type ServiceName } from '../routes.js'

export interface ServiceDocument {
  service: ServiceName
  /** null when the service did not answer: its routes are missing from the merged document. */
  document: OpenAPIV3.Document | null
}

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

/** A path is public when the gateway routes it to the service that documents it. */
export function isPublicPath (service: ServiceName, path: string): boolean {
  return ROUTES.some((r) => r.service === service && (path === r.prefix || path.startsWith(`${r.prefix}/`)))
}

/** Component names get the service's name in front, so two services' `Error` never clash. */
function componentName (service: ServiceName, name: string): string {
  return `${service}.${name}`
}

/** Rewrites every `#/components/<kind>/<name>` reference to the prefixed name. */
function prefixRefs<T> (value: T, service: ServiceName): T {
  if (Array.isArray(value)) return value.map((v: unknown) => prefixRefs(v, service)) as T
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') {
        const match = /^#\/components\/([^/]+)\/(.+)$/.exec(child)
        out[key] = match === null ? child : `#/components/${match[1] ?? ''}/${componentName(service, match[2] ?? '')}`
      } else {
        out[key] = prefixRefs(child, service)
      }
    }
    return out as T
  }
  return value
}

export const WEBHOOK_SIGNATURE_SCHEME: OpenAPIV3.ApiKeySecurityScheme = {
  type: 'apiKey',
  in: 'header',
  name: 'X-Topup-Signature',
  description: 'Payment gateway only: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` with the webhook secret shared with the provider, computed over the exact bytes of the body; `t` must be within 300 s of now. While the secret is being rotated, a call signed with the previous one is accepted too.'
}

export const BEARER_SCHEME: OpenAPIV3.HttpSecurityScheme = {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description: 'The `access` token from `POST /api/token/` (ES256; it works `expires_in` seconds, 15 minutes). Once it has expired a call answers 401 with `WWW-Authenticate: Bearer realm="topup", error="invalid_token"`: get a new pair with `POST /api/token/refresh/` and retry.'
}

/** What each group of routes is for: the headings ReDoc and Swagger UI show above them. */
export const TAG_DESCRIPTIONS: Record<string, string> = {
  auth: 'Player accounts and tokens: register, log in (an access token for 15 minutes and a refresh token), refresh, log out, the profile.',
  catalog: 'The games on sale and their top-up products. Anyone can read it; staff change it.',
  orders: 'Buying a top-up and looking at your orders. An order is pending until the payment provider confirms or refuses the payment.',
  payments: 'The payment provider\'s signed webhook: the result of each payment.',
  analytics: 'Staff only: revenue, orders and payments figures, the live dashboard, order lookup and CSV exports.'
}

/**
 * One OpenAPI 3 document for the whole platform, built from the documents the
 * services publish (never written by hand): only the paths the gateway routes
 * to each service, components prefixed with the service's name, the two
 * security schemes, and the gateway itself as the one server.
 */
export function mergeDocuments (documents: ServiceDocument[], info: { version: string }): OpenAPIV3.Document {
  const paths: OpenAPIV3.PathsObject = {}
  const components: Required<Pick<OpenAPIV3.ComponentsObject, 'schemas' | 'securitySchemes'>> = {
    schemas: {},
    securitySchemes: { bearerAuth: BEARER_SCHEME, webhookSignature: WEBHOOK_SIGNATURE_SCHEME }
  }
  const tags = new Map<string, OpenAPIV3.TagObject>()
  const missing: string[] = []

  for (const { service, document } of documents) {
    if (document === null) {
      missing.push(service)
      continue
    }
    for (const [name, schema] of Object.entries(document.components?.schemas ?? {})) {
      components.schemas[componentName(service, name)] = prefixRefs(schema, service)
    }
    for (const [path, item] of Object.entries(document.paths)) {
      if (item === undefined || !isPublicPath(service, path)) continue
      const merged: OpenAPIV3.PathItemObject = { ...paths[path] }
      for (const method of HTTP_METHODS) {
        const operation = item[method]
        if (operation === undefined) continue
        for (const tag of operation.tags ?? []) if (!tags.has(tag)) tags.set(tag, { name: tag, ...(TAG_DESCRIPTIONS[tag] === undefined ? {} : { description: TAG_DESCRIPTIONS[tag] }) })
        merged[method] = prefixRefs({ ...operation, 'x-service': service } as OpenAPIV3.OperationObject, service)
      }
      if (item.parameters !== undefined) merged.parameters = prefixRefs(item.parameters, service)
      paths[path] = merged
    }
  }

  const sortedPaths: OpenAPIV3.PathsObject = {}
  for (const path of Object.keys(paths).sort()) sortedPaths[path] = paths[path]

  return {
    openapi: '3.0.3',
    info: {
      title: 'Top-up platform API',
      version: info.version,
      description: [
        'Every public route of the platform, as clients call it through the gateway.',
        '',
        '**Authentication**: register (`POST /api/register/`), then `POST /api/token/` with your username and password. Send the `access` token as `Authorization: Bearer <access>` (the *Authorize* button here). Staff routes answer 403 to players.',
        '',
        '**Errors** are JSON `{ statusCode, error, message }`, plus `details: [{ field, message }]` naming each field and what it must be, for validation failures and a top-up that does not match the catalog. A 401 carries `WWW-Authenticate: Bearer realm="topup"` (with `error="invalid_token"` when the token sent is expired or not valid: refresh it).',
        '',
        '**Money** is a decimal string with two places (`"699.00"`).',
        ...(missing.length === 0 ? [] : ['', `_Not described right now (the service did not answer): ${missing.join(', ')}._`])
      ].join('\n')
    },
    servers: [{ url: '/', description: 'this gateway' }],
    tags: [...tags.values()].sort((a, b) => a.name.localeCompare(b.name)),
    paths: sortedPaths,
    components
  }
}
