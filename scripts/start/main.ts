/**
 * `npm start`: runs the whole platform on this machine (after `npm run
 * build`): every built service as its own process, the gateway last once the
 * others are ready, supervised (./supervisor.ts). Ctrl-C / SIGTERM stops them
 * all, gateway first, and exits 0.
 *
 *   npm start -- --scale orders=3,payments=2,analytics=2
 *     runs that many processes of a service (any but the gateway), all on the
 *     service's one database and queue, on ports base + 10·i (orders 3002,
 *     3012, 3022; payments 3003, 3013). Their log lines are prefixed orders#1,
 *     orders#2 …; the gateway gets every instance in ORDERS_URLS etc.
 *
 *   <NAME>_PORT          port of a service (defaults: scripts/services.ts; GATEWAY_PORT for the gateway);
 *                        the base port of a scaled service
 *   GATEWAY_ADMIN_PORT   the gateway's admin listener (its ADMIN_PORT: /health, /ready,
 *                        /metrics, /openapi.json on 127.0.0.1; default 8081)
 *   <NAME>_DATABASE_URL  database of a service (unset: the service's own topup_<name>)
 *   LOG_FORMAT=json      print the services' log lines raw instead of readable
 *   READY_TIMEOUT_MS     how long a service may take to become ready (default 60000)
 * Everything else in the environment passes through to every service.
 *
 * Run as `TS_NODE_TRANSPILE_ONLY=1 node --import @tapjs/typescript/import
 * scripts/start/main.ts` (the npm script does), like bench/ and test/chaos/.
 */
import { existsSync } from 'node:fs'
import { relative } from 'node:path'
import { ROOT } from '../common/paths.js'
import { positiveInt, ScriptError } from '../common/settings.js'
import { BACKENDS, GATEWAY, SANDBOXES, localUrl } from '../services.js'
import { parseStartArguments, USAGE } from './args.js'
import { instancesOf, PORT_STEP, planInstances, scriptOf, type Instance, type Plan } from './instances.js'
import { LogView } from './log-view.js'
import { Supervisor } from './supervisor.js'

const env = process.env
const color = process.stdout.isTTY === true && env.NO_COLOR === undefined
const raw = env.LOG_FORMAT === 'json'

/** The arguments and settings, or exit 1 with what is wrong (on the `start` prefix of its width until the instances are known). */
function prepare (): { plan: Plan, readyTimeoutMs: number } {
  try {
    const args = parseStartArguments(process.argv.slice(2))
    if (args.help) {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    }
    const readyTimeoutMs = positiveInt(env, 'READY_TIMEOUT_MS', 60_000)
    if (!existsSync(scriptOf(GATEWAY.name))) {
      throw new ScriptError(`${relative(ROOT, scriptOf(GATEWAY.name))} does not exist: run \`npm run build\` first (\`npm start\` does it).`)
    }
    return { plan: planInstances(env, args.scale), readyTimeoutMs }
  } catch (err) {
    if (!(err instanceof ScriptError)) throw err
    new LogView({ width: 'start'.length, color, raw }).complain(err.message)
    process.exit(1)
  }
}

async function main (): Promise<void> {
  const { plan, readyTimeoutMs } = prepare()
  const view = new LogView({ width: Math.max('start'.length, ...plan.instances.map((i) => i.name.length)), color, raw })
  const supervisor = new Supervisor(plan, view, { readyTimeoutMs, env })

  let signals = 0
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      signals += 1
      if (signals === 1) {
        view.say(`${signal} received: stopping`)
        void supervisor.stopAll(0)
        return
      }
      view.complain(`second ${signal}: killing every service`)
      supervisor.killAll()
      process.exit(1)
    })
  }
  // whatever happens to this process, no service outlives it
  process.on('exit', () => { supervisor.killAll() })
  process.on('uncaughtException', (err) => {
    view.complain(`launcher failed: ${err.stack ?? err.message}`)
    void supervisor.stopAll(1)
  })

  /** Waits until each of these is ready; false (everything stopping) if one is not. */
  async function ready (instances: readonly Instance[]): Promise<boolean> {
    try {
      await Promise.all(instances.map(async (instance) => { await supervisor.waitUntilReady(instance) }))
      return true
    } catch (err) {
      if (!supervisor.isStopping) {
        view.complain((err as Error).message)
        void supervisor.stopAll(1)
      }
      return false
    }
  }

  // the sandboxes with the services: nothing waits for them at start
  const built = [...SANDBOXES, ...BACKENDS].filter((s) => existsSync(scriptOf(s.name)))
  const skipped = [...SANDBOXES, ...BACKENDS].filter((s) => !built.includes(s))
  if (skipped.length > 0) view.say(`not built, skipped: ${skipped.map((s) => s.name).join(', ')}`)
  const children = built.flatMap((s) => instancesOf(plan, s.name))
  for (const service of built) {
    const mine = instancesOf(plan, service.name)
    if (mine.length > 1) view.say(`starting ${service.name} ×${mine.length} on ports ${mine.map((i) => i.port).join(', ')} (base + ${PORT_STEP}·i; one database, one queue)`)
    for (const instance of mine) view.say(`starting ${instance.name} on port ${instance.port} (pid ${supervisor.start(instance)})`)
  }
  if (!await ready(children)) return

  const gateway = instancesOf(plan, GATEWAY.name)
  for (const instance of gateway) view.say(`starting gateway on port ${instance.port}, admin port ${plan.adminPort} (pid ${supervisor.start(instance)})`)
  if (!await ready(gateway)) return

  const gatewayPort = gateway[0]?.port ?? GATEWAY.port
  view.say(`${view.bold('the platform is up')}\n${view.indent([
    '',
    `gateway        ${localUrl(gatewayPort)}/   (every public route, and a list of them)`,
    `dashboard      ${localUrl(gatewayPort)}/api/dashboard/   (log in as staff: npm run create-staff)`,
    `API reference  ${localUrl(gatewayPort)}/api/docs/   (ReDoc: /api/redoc/, OpenAPI: /api/schema/)`,
    `gateway admin  ${localUrl(plan.adminPort)}/ready   (also /health, /metrics; this machine only)`,
    ...children.map((i) => `${i.name.padEnd(14)} ${localUrl(i.port)}   ${SANDBOXES.some((s) => s.name === i.spec.name) ? '(a game publisher that misbehaves by player id: see the README)' : '(its /metrics, /ready; not public)'}`),
    ...(skipped.length > 0 ? [`not running    ${skipped.map((s) => s.name).join(', ')} (not built: the gateway answers 503 for them)`] : []),
    '',
    'A process that exits is restarted (0.5 s, doubling to 30 s). Ctrl-C stops everything.'
  ])}`)
}

void main()
