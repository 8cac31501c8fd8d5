/**
 * The processes of the platform and their default ports: the one list that
 * `npm start` runs (scripts/start/) and that the demo and the screenshot take
 * the gateway's default URLs from.
 *
 * The services themselves, the gateway's upstream defaults and
 * docker-compose.yml carry the same ports in their own words (a service reads
 * only its own PORT; the gateway cannot import its upstreams' configuration;
 * Compose is YAML): test/start/topology.test.ts checks each of them against
 * this list, so a port changed in one place fails a test instead of leaving
 * `npm start`, the gateway and Compose disagreeing.
 */

/** Where a process says it is ready: a path on its public port or on its admin listener. */
export interface Readiness {
  readonly listener: 'port' | 'adminPort'
  readonly path: string
}

export interface ServiceSpec<Name extends string = string> {
  readonly name: Name
  /** The default port: the service's own PORT default; `<NAME>_PORT` under `npm start`. */
  readonly port: number
  /** The default port of its admin listener (its ADMIN_PORT; `<NAME>_ADMIN_PORT` under `npm start`), if it has one. */
  readonly adminPort?: number
  readonly readiness: Readiness
  /** Where its package is, when not `services/<name>` (the sandboxes). */
  readonly directory?: string
}

/** A service behind the gateway: ready when its own /ready (database, broker) answers 200. */
function backend<const Name extends string> (name: Name, port: number): ServiceSpec<Name> {
  return { name, port, readiness: { listener: 'port', path: '/ready' } }
}

/** The services behind the gateway, in the order `npm start` starts them. */
export const BACKENDS = [
  backend('auth', 3001),
  backend('orders', 3002),
  backend('payments', 3003),
  backend('analytics', 3004)
] as const

export type BackendName = typeof BACKENDS[number]['name']

/**
 * The gateway, started last. Its /health, /ready, /metrics answer on its
 * admin listener only. It counts as up once its /health answers: its /ready
 * stays 503 while any service behind it is missing (not built, restarting),
 * and the gateway is what tells clients so (503 for that service's routes).
 */
export const GATEWAY = {
  name: 'gateway',
  port: 8080,
  adminPort: 8081,
  readiness: { listener: 'adminPort', path: '/health' }
} as const satisfies ServiceSpec<'gateway'>

/**
 * The external parties' sandboxes: real processes in the repository that play
 * a game publisher (and later others), misbehaving on purpose by player id.
 * `npm start` runs them first, once each; they are not behind the gateway.
 */
export const SANDBOXES = [
  { name: 'publisher-sandbox', port: 3090, readiness: { listener: 'port', path: '/ready' }, directory: 'sandboxes/publisher' }
] as const satisfies ReadonlyArray<ServiceSpec<string>>

export type SandboxName = typeof SANDBOXES[number]['name']

export type ProcessName = BackendName | typeof GATEWAY.name | SandboxName

/** Every process of the platform itself (the sandboxes are not), the gateway last. */
export const PROCESSES: readonly ServiceSpec<ProcessName>[] = [...BACKENDS, GATEWAY]

export function localUrl (port: number): string {
  return `http://127.0.0.1:${port}`
}

/** The URL that answers 200 once a process listening on these ports is ready. */
export function readinessUrl (spec: ServiceSpec, ports: { port: number, adminPort?: number }): string {
  const port = spec.readiness.listener === 'port' ? ports.port : ports.adminPort
  if (port === undefined) throw new Error(`${spec.name} has no admin port to be asked on`)
  return `${localUrl(port)}${spec.readiness.path}`
}
