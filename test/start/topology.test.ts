/**
 * scripts/services.ts is the one list of the platform's processes and ports
 * that `npm start` runs; the same ports are written again where they cannot
 * be imported from it: each service's PORT default, the gateway's upstream and
 * admin defaults, and docker-compose.yml. This test holds them together: a
 * port changed in one place and not in the others fails here.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parse } from 'yaml'
import { ROOT } from '../../scripts/common/paths.js'
import { BACKENDS, GATEWAY, PROCESSES, localUrl, readinessUrl, type BackendName } from '../../scripts/services.js'
import { loadAnalyticsConfig } from '../../services/analytics/src/config.js'
import { loadAuthConfig } from '../../services/auth/src/config.js'
import { loadGatewayConfig } from '../../services/gateway/src/config.js'
import { SERVICES as GATEWAY_UPSTREAMS } from '../../services/gateway/src/routes.js'
import { loadOrdersConfig } from '../../services/orders/src/config.js'
import { loadPaymentsConfig } from '../../services/payments/src/config.js'

/** Each service's own configuration loader (a service added to scripts/services.ts without one here does not compile). */
const LOADERS: Record<BackendName, (env: NodeJS.ProcessEnv) => { PORT: number }> = {
  auth: loadAuthConfig,
  orders: loadOrdersConfig,
  payments: loadPaymentsConfig,
  analytics: loadAnalyticsConfig
}

/** With nothing set, each configuration is its defaults. */
const NOTHING_SET: NodeJS.ProcessEnv = {}

t.test('each service listens by default on the port npm start gives it', async (t) => {
  for (const spec of BACKENDS) t.equal(LOADERS[spec.name](NOTHING_SET).PORT, spec.port, `${spec.name}: PORT default`)
})

t.test('the gateway\'s defaults: its ports, and every upstream where npm start runs it', async (t) => {
  const config = loadGatewayConfig(NOTHING_SET)
  t.equal(config.PORT, GATEWAY.port, 'gateway: PORT default')
  t.equal(config.ADMIN_PORT, GATEWAY.adminPort, 'gateway: ADMIN_PORT default')
  t.same([...GATEWAY_UPSTREAMS].sort(), BACKENDS.map((s) => s.name).sort(), 'the gateway proxies to exactly the services npm start runs')
  const upstreams: Record<BackendName, string> = { auth: config.AUTH_URL, orders: config.ORDERS_URL, payments: config.PAYMENTS_URL, analytics: config.ANALYTICS_URL }
  for (const spec of BACKENDS) t.equal(upstreams[spec.name], localUrl(spec.port), `gateway: ${spec.name.toUpperCase()}_URL default`)
})

t.test('docker-compose.yml runs the same processes on the same ports', async (t) => {
  // `yaml` is in node_modules already (through @fastify/swagger-ui); merge keys (<<: *node-service) as Compose reads them
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[], environment?: Record<string, string | null>, ports?: string[], healthcheck?: { test?: string[] } }>
  }
  const serverOf = (name: string): string | undefined => compose.services[name]?.command?.find((part) => /^services\/[^/]+\/dist\/src\/server\.js$/.test(part))
  const nodeServices = Object.keys(compose.services).filter((name) => serverOf(name) !== undefined)
  t.same(nodeServices.sort(), PROCESSES.map((s) => s.name).sort(), 'the Node services of compose are the processes of npm start')

  /** The URL the container's health check fetches (the one http URL in its command). */
  const healthUrl = (name: string): string | undefined => compose.services[name]?.healthcheck?.test?.join(' ').match(/http:\/\/[^'"\s)]+/)?.[0]
  const gatewayEnv = compose.services[GATEWAY.name]?.environment ?? {}

  for (const spec of BACKENDS) {
    const service = compose.services[spec.name]
    t.equal(serverOf(spec.name), `services/${spec.name}/dist/src/server.js`, `${spec.name}: runs its own server`)
    t.equal(service?.environment?.PORT, String(spec.port), `${spec.name}: PORT`)
    t.equal(healthUrl(spec.name), readinessUrl(spec, { port: spec.port }), `${spec.name}: the health check asks where npm start waits for readiness`)
    t.equal(gatewayEnv[`${spec.name.toUpperCase()}_URL`], `http://${spec.name}:${spec.port}`, `gateway: ${spec.name.toUpperCase()}_URL`)
  }

  t.equal(gatewayEnv.PORT, String(GATEWAY.port), 'gateway: PORT')
  t.equal(gatewayEnv.ADMIN_PORT, String(GATEWAY.adminPort), 'gateway: ADMIN_PORT')
  // "<host address>:<host port>:<container port>": the container's side is the gateway's PORT
  const published = compose.services[GATEWAY.name]?.ports?.map((mapping) => mapping.split(':').at(-1))
  t.same(published, [String(GATEWAY.port)], 'gateway: the one published port is its public port')
  t.equal(new URL(healthUrl(GATEWAY.name) ?? 'http://missing').port, String(GATEWAY.adminPort), 'gateway: the health check asks its admin listener')
})
