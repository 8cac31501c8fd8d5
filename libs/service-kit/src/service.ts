import type { Writable } from 'node:stream'
import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { configOrExit } from './config.js'
import { createServer, startServer, type App, type ServerOptions } from './server.js'

/** The settings every service's server is made with (service-kit's BaseEnv has them all). */
export interface ServerSettings {
  LOG_LEVEL: string
  BODY_LIMIT_BYTES: number
  TRUST_PROXY: string
}

export interface BuildOptions {
  /** Where log lines go (tests capture them); stdout by default. */
  logStream?: Writable
}

export interface ServiceDefinition<C, O> {
  service: string
  docs: NonNullable<ServerOptions['docs']>
  /** The service itself: its infrastructure, routes, handlers and own plugins (`src/app.ts`). */
  app: FastifyPluginAsync<O & { config: C }>
}

/**
 * A service's Fastify instance: the platform's server (request ids, redacted
 * logs, one error shape, health, readiness, metrics, OpenAPI) with the
 * service's plugin registered unencapsulated, so that the server and the
 * tests see its decorators (db, messaging, …).
 */
export async function buildService<C extends ServerSettings, O extends object> (
  definition: ServiceDefinition<C, O>, config: C, options: O, build: BuildOptions = {}
): Promise<App> {
  const app = createServer({
    service: definition.service,
    logLevel: config.LOG_LEVEL,
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: config.TRUST_PROXY,
    ...(build.logStream === undefined ? {} : { logStream: build.logStream }),
    docs: definition.docs
  })
  await app.register(fp(definition.app, { name: `${definition.service}-app` }), { ...options, config })
  return app
}

/**
 * A service's `server.ts` in one call: its configuration (a bad one exits
 * with one line per problem), its app (one that cannot be built, e.g. the
 * dashboard's CSS never built, exits with one line saying why), listening
 * until SIGTERM/SIGINT.
 */
export async function runService<C extends { HOST: string, PORT: number }> (service: string, load: () => C, build: (config: C) => Promise<App>): Promise<void> {
  const config = configOrExit(load)
  let app: App
  try {
    app = await build(config)
  } catch (err) {
    process.stderr.write(`${service} could not start: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  }
  await startServer(app, { host: config.HOST, port: config.PORT })
}
