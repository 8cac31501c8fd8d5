import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'

export interface DocsOptions {
  title?: string
  description?: string
  version?: string
  /** Extra security schemes, e.g. the webhook signature. */
  securitySchemes?: Record<string, { type: 'apiKey', in: 'header', name: string, description?: string }>
}

/**
 * Describes the service's routes from the same TypeBox schemas that validate
 * them. The gateway merges every service's document (`/openapi.json`).
 */
export default fp(async function docs (app: FastifyInstance, options: DocsOptions) {
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: options.title ?? 'service', description: options.description ?? '', version: options.version ?? '1.0.0' },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'Access token from POST /api/token/' },
          ...options.securitySchemes
        }
      }
    }
  })
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger())
}, { name: 'docs' })
