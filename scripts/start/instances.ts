/**
 * What `npm start` runs: every instance of every service with its port, and
 * the environment each child gets. Pure functions of the environment and the
 * arguments; main.ts prints their ScriptErrors.
 */
import { join } from 'node:path'
import { ROOT } from '../common/paths.js'
import { positiveInt, ScriptError } from '../common/settings.js'
import { BACKENDS, GATEWAY, SANDBOXES, localUrl, readinessUrl, type ProcessName, type ServiceSpec } from '../services.js'
import type { Scale } from './args.js'

/** Ports of the further instances of a scaled service: base + PORT_STEP · i. */
export const PORT_STEP = 10
const MAX_PORT = 65_535

export interface Instance {
  /** `orders` when it runs once, `orders#2` for the second of several. */
  name: string
  spec: ServiceSpec<ProcessName>
  port: number
}

export interface Plan {
  instances: Instance[]
  /** The gateway's admin listener (its ADMIN_PORT). */
  adminPort: number
}

const variablePrefix = (spec: ServiceSpec): string => spec.name.toUpperCase().replaceAll('-', '_')

/** `<NAME>_PORT` (`<NAME>_ADMIN_PORT`), else the default of scripts/services.ts. */
function portSetting (env: NodeJS.ProcessEnv, variable: string, fallback: number): number {
  return positiveInt(env, variable, fallback, MAX_PORT)
}

/**
 * Every process to run, the gateway last. A scaled service's instances use
 * ports base + 10·i; two processes on one port is a ScriptError naming the
 * variable to set.
 */
export function planInstances (env: NodeJS.ProcessEnv, scale: Scale): Plan {
  const instances: Instance[] = []
  for (const spec of [...SANDBOXES, ...BACKENDS, GATEWAY] as const) {
    const variable = `${variablePrefix(spec)}_PORT`
    const base = portSetting(env, variable, spec.port)
    const count = spec.name === GATEWAY.name || isSandbox(spec.name) ? 1 : scale[spec.name as keyof Scale] ?? 1
    for (let i = 0; i < count; i++) {
      const port = base + PORT_STEP * i
      if (port > MAX_PORT) throw new ScriptError(`${spec.name}: port ${port} (base ${base} + ${PORT_STEP}·${i}) is beyond ${MAX_PORT}: set ${variable} lower`)
      instances.push({ name: count > 1 ? `${spec.name}#${i + 1}` : spec.name, spec, port })
    }
  }
  const adminVariable = `${variablePrefix(GATEWAY)}_ADMIN_PORT`
  const adminPort = portSetting(env, adminVariable, GATEWAY.adminPort)

  const seen = new Map<number, string>()
  const ports = [
    ...instances.map((i) => ({ name: i.name, port: i.port, variable: `${variablePrefix(i.spec)}_PORT` })),
    { name: 'the gateway\'s admin listener', port: adminPort, variable: adminVariable }
  ]
  for (const { name, port, variable } of ports) {
    const other = seen.get(port)
    if (other !== undefined) throw new ScriptError(`${other} and ${name} would both use port ${port}: set ${variable}`)
    seen.set(port, name)
  }
  return { instances, adminPort }
}

export function instancesOf (plan: Plan, service: ProcessName): Instance[] {
  return plan.instances.filter((i) => i.spec.name === service)
}

const isSandbox = (name: string): boolean => SANDBOXES.some((s) => s.name === name)

/** The package directory of a service (or a sandbox). */
export function directoryOf (service: ProcessName): string {
  return join(ROOT, SANDBOXES.find((s) => s.name === service)?.directory ?? join('services', service))
}

/** The built entry point of a service (or a sandbox). */
export function scriptOf (service: ProcessName): string {
  return join(directoryOf(service), 'dist', 'src', 'server.js')
}

export function readinessUrlOf (plan: Plan, instance: Instance): string {
  return readinessUrl(instance.spec, { port: instance.port, adminPort: plan.adminPort })
}

/**
 * The environment of one child: everything of this process's but a shared
 * PORT, ADMIN_PORT or DATABASE_URL (services would clash or share a
 * database), then its own port, its service's database (every instance on
 * the one database and queue), and where the others are: the services read
 * AUTH_URL (auth's keys; its first instance), the gateway proxies to every
 * instance of each (the *_URLS lists, which win over the single *_URL).
 */
export function childEnv (plan: Plan, instance: Instance, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const child: NodeJS.ProcessEnv = { ...env }
  delete child.PORT
  delete child.ADMIN_PORT
  delete child.DATABASE_URL
  child.NODE_ENV ??= 'development'
  child.PORT = String(instance.port)
  const database = env[`${variablePrefix(instance.spec)}_DATABASE_URL`]
  if (database !== undefined && database !== '') child.DATABASE_URL = database
  for (const spec of BACKENDS) {
    const mine = instancesOf(plan, spec.name)
    const [first] = mine
    if (first !== undefined) child[`${variablePrefix(spec)}_URL`] = localUrl(first.port)
    if (instance.spec.name === GATEWAY.name) child[`${variablePrefix(spec)}_URLS`] = mine.map((i) => localUrl(i.port)).join(',')
  }
  // where the sandboxes are (PUBLISHER_SANDBOX_URL): what a service that calls one reads
  for (const spec of SANDBOXES) {
    const [first] = instancesOf(plan, spec.name)
    if (first !== undefined) child[`${variablePrefix(spec)}_URL`] = localUrl(first.port)
  }
  if (instance.spec.name === GATEWAY.name) child.ADMIN_PORT = String(plan.adminPort)
  return child
}
