import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import fastifyMetrics from 'fastify-metrics'
import { Counter, Gauge, Histogram, Registry } from '@platformatic/prom-client'

// the prom-client fastify-metrics itself resolves to (one implementation in the process)
export { Counter, Gauge, Histogram, Registry }

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * This app's Prometheus registry: what its /metrics serves. A plugin adds
     * its own figures with `registers: [app.metricsRegistry]`; every series
     * carries the `service` label.
     */
    metricsRegistry: Registry
  }
}

export interface MetricsOptions {
  service: string
}

/**
 * Prometheus metrics of one service, in a registry of the app's own: process
 * and HTTP figures (fastify-metrics), then whatever the service's plugins add
 * (messaging: events and the outbox; the database pool; business counters).
 *
 * Why a registry per app, not prom-client's global one: tests run several
 * services in one process, and a global registry either mixes their figures
 * or, cleared on each start, loses the earlier app's counters.
 *
 * Route durations as a histogram only: the summary's quantile sketch (TDigest)
 * cost ~5 % of the gateway's CPU under load (bench CPU profile), and quantiles
 * come from the histogram buckets in PromQL anyway.
 */
export default fp(async function metrics (app: FastifyInstance, options: MetricsOptions) {
  const registry = new Registry()
  registry.setDefaultLabels({ service: options.service })
  app.decorate('metricsRegistry', registry)
  // fastify-metrics is typed against prom-client's Registry; at run time it uses
  // @platformatic/prom-client (the same API), whose Registry this is
  const registers = [registry] as never
  await app.register(fastifyMetrics.default, {
    endpoint: null,
    defaultMetrics: { enabled: true, register: registry as never },
    routeMetrics: {
      enabled: { histogram: true, summary: false },
      overrides: { histogram: { registers }, summary: { registers } }
    }
  })
  app.get('/metrics', { logLevel: 'fatal', exposeHeadRoute: false, schema: { hide: true } }, async (_request, reply) => {
    return await reply.type(registry.contentType).send(await registry.metrics())
  })
}, { name: 'metrics', fastify: '5.x' })
