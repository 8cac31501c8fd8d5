#!/usr/bin/env node
// Runs the whole platform on this machine (`npm start`, after `npm run build`):
// every built service as its own process, the gateway last once the others are
// ready. Ctrl-C / SIGTERM stops them all (gateway first) and exits 0.
//
// It supervises them: a process that exits without being asked to (a crash, a
// kill -9, an exit 0 nobody asked for) is started again after a delay that
// doubles from 0.5 s to 30 s (±25 % jitter), and one that had stayed up for
// 30 s starts again from 0.5 s; each crash and restart is logged on the
// `start` prefix with the process id. While a service is down the gateway
// answers 503 for its routes; while the gateway is down, nothing answers on
// its port. Only a process that never got ready at the first start stops
// everything (its configuration or port is wrong: trying again would repeat it).
//
//   npm start -- --scale orders=3,payments=2,analytics=2
//     runs that many processes of a service (any but the gateway), all on the
//     service's one database and queue, on consecutive ports: base + 10·i
//     (orders 3002, 3012, 3022; payments 3003, 3013). Their log lines are
//     prefixed orders#1, orders#2 …; the gateway gets every instance in
//     ORDERS_URLS etc. and spreads requests over them.
//
//   <NAME>_PORT          port of a service (defaults below; GATEWAY_PORT for the gateway);
//                        the base port of a scaled service
//   GATEWAY_ADMIN_PORT   the gateway's admin listener (its ADMIN_PORT: /health, /ready,
//                        /metrics, /openapi.json on 127.0.0.1; default 8081)
//   <NAME>_DATABASE_URL  database of a service (unset: the service's own topup_<name>)
//   LOG_FORMAT=json      print the services' log lines raw instead of "level message"
//   READY_TIMEOUT_MS     how long a service may take to become ready (default 60000)
// Everything else in the environment passes through to every service.

import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { get } from 'node:http'
import { dirname, join, relative } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The services behind the gateway, started in this order. */
const SERVICES = [
  { name: 'auth', port: 3001 },
  { name: 'orders', port: 3002 },
  { name: 'payments', port: 3003 },
  { name: 'analytics', port: 3004 }
]
const GATEWAY = { name: 'gateway', port: 8080 }
/** The gateway's own /health, /ready, /metrics live on this listener, not on its public port. */
const GATEWAY_ADMIN = { variable: 'GATEWAY_ADMIN_PORT', port: 8081 }

/** Ports of the further instances of a scaled service: base + PORT_STEP · i. */
const PORT_STEP = 10
const MAX_INSTANCES = 9

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
const RAW_LOGS = process.env.LOG_FORMAT === 'json'
const COLOR = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
const COLORS = { auth: 36, orders: 32, payments: 33, analytics: 35, gateway: 34, start: 1 }
const READY_TIMEOUT_MS = positiveInt(process.env.READY_TIMEOUT_MS, 60_000, 'READY_TIMEOUT_MS')
// (the width of the name column until the instances are known: for messages about the arguments)
let NAME_WIDTH = 'start'.length
const STOP_TIMEOUT_MS = 15_000
const POLL_INTERVAL_MS = 250
/** Restart delays: from the first, doubling up to the last; a process up this long counts as healthy again. */
const RESTART_FIRST_MS = 500
const RESTART_MAX_MS = 30_000
const RESTART_STABLE_MS = 30_000

// ---------------------------------------------------------------------------
// Output

function paint (code, text) {
  return COLOR ? `\u001b[${code}m${text}\u001b[0m` : text
}

function label (name) {
  return paint(COLORS[name.split('#')[0]] ?? 37, name.padEnd(NAME_WIDTH))
}

function say (message) {
  process.stdout.write(`${label('start')} | ${message}\n`)
}

function complain (message) {
  process.stderr.write(`${label('start')} | ${paint(31, message)}\n`)
}

const LEVELS = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const LEVEL_COLORS = { 10: 90, 20: 90, 30: 32, 40: 33, 50: 31, 60: 31 }

/** A pino JSON line as "LEVEL message (request, status, error)"; anything else as it is. */
function readable (line) {
  if (RAW_LOGS || !line.startsWith('{')) return line
  let entry
  try {
    entry = JSON.parse(line)
  } catch {
    return line
  }
  if (entry === null || typeof entry !== 'object' || typeof entry.level !== 'number') return line
  const parts = [paint(LEVEL_COLORS[entry.level] ?? 37, (LEVELS[entry.level] ?? String(entry.level)).padEnd(5))]
  if (typeof entry.msg === 'string') parts.push(entry.msg)
  if (entry.req !== undefined && typeof entry.req === 'object') parts.push(`${entry.req.method} ${entry.req.url}`)
  if (entry.res !== undefined && typeof entry.res === 'object') {
    const time = typeof entry.responseTime === 'number' ? ` ${entry.responseTime.toFixed(1)} ms` : ''
    parts.push(`→ ${entry.res.statusCode}${time}`)
  }
  if (typeof entry.reqId === 'string' && (entry.req !== undefined || entry.res !== undefined)) parts.push(paint(90, `[${entry.reqId}]`))
  if (entry.err !== undefined && typeof entry.err === 'object') {
    parts.push(paint(31, `${entry.err.type ?? 'Error'}: ${entry.err.message ?? ''}`))
    if (entry.level >= 50 && typeof entry.err.stack === 'string') parts.push(`\n${entry.err.stack}`)
  }
  return parts.join(' ')
}

function prefixLines (stream, name, out) {
  const lines = createInterface({ input: stream, crlfDelay: Infinity })
  lines.on('line', (line) => { out.write(`${label(name)} | ${readable(line)}\n`) })
}

// ---------------------------------------------------------------------------
// Arguments

const USAGE = 'usage: node scripts/start.mjs [--scale <service>=<n>[,<service>=<n>…]]   (npm start -- --scale orders=3,payments=2)'

/** `--scale orders=3,payments=2` (or `--scale=…`, repeated) → { orders: 3, payments: 2 }. */
function parseArguments (args) {
  const scale = {}
  const specs = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]
    if (arg === '--help' || arg === '-h') {
      process.stdout.write(`${USAGE}\n`)
      process.exit(0)
    } else if (arg === '--scale') {
      if (args[i + 1] === undefined) fail(`--scale needs a value such as orders=3\n${USAGE}`)
      specs.push(args[++i])
    } else if (arg.startsWith('--scale=')) {
      specs.push(arg.slice('--scale='.length))
    } else {
      fail(`unknown argument "${arg}"\n${USAGE}`)
    }
  }
  const names = SERVICES.map((s) => s.name)
  for (const item of specs.flatMap((spec) => spec.split(',')).map((x) => x.trim()).filter((x) => x !== '')) {
    const match = /^([a-z]+)=(\d+)$/.exec(item)
    if (match === null) fail(`--scale: "${item}" is not <service>=<n>\n${USAGE}`)
    const [, name, count] = match
    if (name === GATEWAY.name) fail('--scale: the gateway runs once (it is the one public port); scale the services behind it')
    if (!names.includes(name)) fail(`--scale: unknown service "${name}" (one of ${names.join(', ')})`)
    const n = Number(count)
    if (n < 1 || n > MAX_INSTANCES) fail(`--scale: ${name}=${count}: between 1 and ${MAX_INSTANCES} instances`)
    scale[name] = n
  }
  return scale
}

function fail (message) {
  complain(message)
  process.exit(1)
}

/** `orders` when it runs once, `orders#2` for the second of several. */
function instanceName (service, index, count) {
  return count > 1 ? `${service}#${index}` : service
}

const SCALE = parseArguments(process.argv.slice(2))
NAME_WIDTH = Math.max(...[...SERVICES, GATEWAY].map((s) => instanceName(s.name, SCALE[s.name] ?? 1, SCALE[s.name] ?? 1).length), 'start'.length)

// ---------------------------------------------------------------------------
// Configuration of each child

function positiveInt (value, fallback, variable) {
  if (value === undefined || value === '') return fallback
  const number = Number(value)
  if (!Number.isInteger(number) || number < 1) {
    complain(`${variable} must be a positive integer, got "${value}"`)
    process.exit(1)
  }
  return number
}

function portOf (service, variable = `${service.name.toUpperCase()}_PORT`) {
  const port = positiveInt(process.env[variable], service.port, variable)
  if (port > 65535) {
    complain(`${variable} must be a port number (1-65535), got "${port}"`)
    process.exit(1)
  }
  return port
}

function scriptOf (name) {
  return join(ROOT, 'services', name, 'dist', 'src', 'server.js')
}

const built = SERVICES.filter((s) => existsSync(scriptOf(s.name)))
const skipped = SERVICES.filter((s) => !built.includes(s))
if (!existsSync(scriptOf(GATEWAY.name))) {
  complain(`${relative(ROOT, scriptOf(GATEWAY.name))} does not exist: run \`npm run build\` first (\`npm start\` does it).`)
  process.exit(1)
}

/**
 * Every process to run: { name: 'orders#2', service: 'orders', port }. A
 * scaled service's instances use ports base + 10·i.
 */
const instances = []
for (const service of [...SERVICES, GATEWAY]) {
  const base = portOf(service)
  const count = SCALE[service.name] ?? 1
  for (let i = 0; i < count; i++) {
    const port = base + PORT_STEP * i
    if (port > 65535) fail(`${service.name}: port ${port} (base ${base} + ${PORT_STEP}·${i}) is beyond 65535: set ${service.name.toUpperCase()}_PORT lower`)
    instances.push({ name: instanceName(service.name, i + 1, count), service: service.name, port })
  }
}
const adminPort = portOf(GATEWAY_ADMIN, GATEWAY_ADMIN.variable)
{
  const seen = new Map()
  const ports = [...instances.map(({ name, port, service }) => ({ name, port, variable: `${service.toUpperCase()}_PORT` })),
    { name: 'the gateway\'s admin listener', port: adminPort, variable: GATEWAY_ADMIN.variable }]
  for (const { name, port, variable } of ports) {
    if (seen.has(port)) fail(`${seen.get(port)} and ${name} would both use port ${port}: set ${variable}`)
    seen.set(port, name)
  }
}
const instancesOf = (service) => instances.filter((i) => i.service === service)
const instanceByName = new Map(instances.map((i) => [i.name, i]))

const localUrl = (port) => `http://127.0.0.1:${port}`
/**
 * Where every service finds the others: the services read AUTH_URL (auth's
 * keys; its first instance), the gateway proxies to every instance of each
 * (the *_URLS lists, which win over the single *_URL).
 */
const serviceUrls = Object.fromEntries(SERVICES.map((s) => [`${s.name.toUpperCase()}_URL`, localUrl(instancesOf(s.name)[0].port)]))
const serviceUrlLists = Object.fromEntries(SERVICES.map((s) => [`${s.name.toUpperCase()}_URLS`, instancesOf(s.name).map((i) => localUrl(i.port)).join(',')]))

function envFor (instance) {
  const env = { ...process.env }
  // a shared PORT, ADMIN_PORT or DATABASE_URL would make services clash or share a database
  delete env.PORT
  delete env.ADMIN_PORT
  delete env.DATABASE_URL
  env.NODE_ENV ??= 'development'
  env.PORT = String(instance.port)
  // every instance of a service on the service's one database (and queue)
  const database = process.env[`${instance.service.toUpperCase()}_DATABASE_URL`]
  if (database !== undefined && database !== '') env.DATABASE_URL = database
  Object.assign(env, serviceUrls)
  if (instance.service === GATEWAY.name) {
    Object.assign(env, serviceUrlLists)
    env.ADMIN_PORT = String(adminPort)
  }
  return env
}

// ---------------------------------------------------------------------------
// Children

/**
 * name → the supervised process of that instance:
 * { child, exited: Promise<{ code, signal }>, done, startedAt, upOnce, failures, restarts, timer }
 * (`child` … `startedAt` describe the current process; the rest outlives it).
 */
const running = new Map()
let stopping = false

/**
 * The next restart delay after `failures` crashes in a row: exponential,
 * bounded, with jitter (so several crashed instances do not all come back in
 * the same instant). Hand-written because no dependency of this repository
 * provides it: the backoff packages in node_modules (`exponential-backoff`,
 * `retry`) are only transitive development dependencies of tap and
 * testcontainers (gone after `npm ci --omit=dev`, and their versions are not
 * ours to pin), and the supervisor needs no more than this one formula: the
 * delay itself is a plain timer, cancelled on shutdown.
 */
function restartDelay (failures) {
  const base = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** Math.min(failures, 30))
  return Math.min(RESTART_MAX_MS, Math.round(base * (0.75 + Math.random() * 0.5)))
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`
const describeExit = ({ code, signal }) => signal ?? `code ${code}`

function startChild (name) {
  const instance = instanceByName.get(name)
  const child = spawn(process.execPath, [scriptOf(instance.service)], {
    cwd: join(ROOT, 'services', instance.service),
    env: envFor(instance),
    stdio: ['ignore', 'pipe', 'pipe'],
    // own process group: a Ctrl-C in the terminal reaches only this launcher,
    // which stops the services in order (a second signal would make them exit 1)
    detached: true
  })
  const entry = running.get(name) ?? { upOnce: false, failures: 0, restarts: 0, timer: undefined }
  Object.assign(entry, { child, done: false, startedAt: Date.now() })
  entry.exited = new Promise((resolve) => {
    // 'close': the process has exited and its output has been read to the end
    child.once('close', (code, signal) => {
      entry.done = true
      resolve({ code, signal })
    })
  })
  child.once('error', (err) => {
    complain(`${name} could not be started: ${err.message}`)
  })
  prefixLines(child.stdout, name, process.stdout)
  prefixLines(child.stderr, name, process.stderr)
  running.set(name, entry)
  void entry.exited.then((exit) => { onExit(name, entry, exit) })
  return entry
}

function onExit (name, entry, exit) {
  if (stopping) {
    if (exit.code !== 0 && exit.signal !== 'SIGTERM') say(`${name} exited with ${describeExit(exit)}`)
    return
  }
  // never ready yet at the first start: waitFor reports it and stops everything
  if (!entry.upOnce) return
  const upFor = Date.now() - entry.startedAt
  if (upFor >= RESTART_STABLE_MS) entry.failures = 0
  const delay = restartDelay(entry.failures)
  entry.failures += 1
  entry.restarts += 1
  complain(`${name} (pid ${entry.child.pid}) exited unexpectedly (${describeExit(exit)}) after ${seconds(upFor)} up; ` +
    `restarting it in ${seconds(delay)} (restart ${entry.restarts}${entry.failures > 1 ? `, ${entry.failures} crashes in a row` : ''})`)
  entry.timer = setTimeout(() => {
    entry.timer = undefined
    if (stopping) return
    void restartChild(name)
  }, delay)
}

async function restartChild (name) {
  const entry = startChild(name)
  const { pid } = entry.child
  const { port } = instanceByName.get(name)
  say(`restarted ${name} on port ${port} (pid ${pid})`)
  const started = Date.now()
  try {
    await waitFor(name, readinessUrl(name))
    say(`${name} is ready again after ${seconds(Date.now() - started)} (pid ${pid})`)
  } catch (err) {
    // exited again (onExit schedules the next try) or still not ready: it keeps running
    if (!stopping && entry.child.pid === pid && !entry.done) complain(err.message)
  }
}

function signalChild (name, signal) {
  const entry = running.get(name)
  if (entry === undefined || entry.done) return
  try {
    entry.child.kill(signal)
  } catch {
    // already gone
  }
}

/** Gateway first (no new requests reach the services), then the rest; SIGKILL what is left after 15 s. */
async function stopAll (exitCode) {
  if (stopping) return
  stopping = true
  // a restart waiting for its delay does not happen any more
  for (const entry of running.values()) clearTimeout(entry.timer)
  const force = setTimeout(() => {
    for (const [name, entry] of running) {
      if (!entry.done) {
        complain(`${name} did not stop within ${STOP_TIMEOUT_MS / 1000} s: killing it`)
        signalChild(name, 'SIGKILL')
      }
    }
  }, STOP_TIMEOUT_MS)
  const gateway = running.get(GATEWAY.name)
  if (gateway !== undefined && !gateway.done) {
    say('stopping gateway')
    signalChild(GATEWAY.name, 'SIGTERM')
    await gateway.exited
  }
  const others = [...running].filter(([name, entry]) => name !== GATEWAY.name && !entry.done)
  if (others.length > 0) say(`stopping ${others.map(([name]) => name).join(', ')}`)
  for (const [name] of others) signalChild(name, 'SIGTERM')
  await Promise.all(others.map(([, entry]) => entry.exited))
  clearTimeout(force)
  say(exitCode === 0 ? 'all stopped' : 'all stopped after a failure')
  process.exit(exitCode)
}

let signals = 0
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    signals += 1
    if (signals === 1) {
      say(`${signal} received: stopping`)
      void stopAll(0)
      return
    }
    complain(`second ${signal}: killing every service`)
    for (const name of running.keys()) signalChild(name, 'SIGKILL')
    process.exit(1)
  })
}
// whatever happens to this process, no service outlives it
process.on('exit', () => {
  for (const name of running.keys()) signalChild(name, 'SIGKILL')
})
process.on('uncaughtException', (err) => {
  complain(`launcher failed: ${err.stack ?? err.message}`)
  void stopAll(1)
})

// ---------------------------------------------------------------------------
// Readiness

function status (url) {
  return new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: 3000 }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk) => { if (body.length < 2000) body += chunk })
      res.on('end', () => { resolve({ code: res.statusCode, body }) })
    })
    req.once('timeout', () => { req.destroy(new Error('no answer within 3 s')) })
    req.once('error', (err) => { resolve({ code: 0, body: err.code ?? err.message }) })
  })
}

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms) })

/**
 * Where a process says it is ready: a service's own /ready; the gateway's
 * /health on its admin listener (its /ready stays 503 while a service is
 * missing, e.g. not built or restarting).
 */
function readinessUrl (name) {
  return name === GATEWAY.name ? `${localUrl(adminPort)}/health` : `${localUrl(instanceByName.get(name).port)}/ready`
}

/**
 * Resolves when the current process of `name` answers 200 on `url`; throws if
 * that process exits (even if a restart has taken its place) or time runs out.
 */
async function waitFor (name, url) {
  const entry = running.get(name)
  const { child, exited } = entry
  const gone = () => entry.child !== child || entry.done
  const deadline = Date.now() + READY_TIMEOUT_MS
  let last = { code: 0, body: 'no answer yet' }
  while (Date.now() < deadline) {
    if (gone() || stopping) throw new Error(`${name} exited before it was ready`)
    last = await status(url)
    if (last.code === 200 && !gone()) return
    await Promise.race([sleep(POLL_INTERVAL_MS), exited])
  }
  const answer = last.code === 0 ? last.body : `HTTP ${last.code} ${last.body}`
  throw new Error(`${name} was not ready within ${READY_TIMEOUT_MS / 1000} s (${url} last answered: ${answer})`)
}

// ---------------------------------------------------------------------------

async function main () {
  if (skipped.length > 0) say(`not built, skipped: ${skipped.map((s) => s.name).join(', ')}`)
  const children = built.flatMap((s) => instancesOf(s.name))
  for (const service of built) {
    const mine = instancesOf(service.name)
    if (mine.length > 1) say(`starting ${service.name} ×${mine.length} on ports ${mine.map((i) => i.port).join(', ')} (base + ${PORT_STEP}·i; one database, one queue)`)
    for (const instance of mine) {
      const { child } = startChild(instance.name)
      say(`starting ${instance.name} on port ${instance.port} (pid ${child.pid})`)
    }
  }
  try {
    await Promise.all(children.map(async (i) => {
      await waitFor(i.name, readinessUrl(i.name))
      running.get(i.name).upOnce = true
    }))
  } catch (err) {
    if (stopping) return
    complain(err.message)
    return stopAll(1)
  }

  const gatewayPort = instanceByName.get(GATEWAY.name).port
  const { child } = startChild(GATEWAY.name)
  say(`starting gateway on port ${gatewayPort}, admin port ${adminPort} (pid ${child.pid})`)
  try {
    await waitFor(GATEWAY.name, readinessUrl(GATEWAY.name))
    running.get(GATEWAY.name).upOnce = true
  } catch (err) {
    if (stopping) return
    complain(err.message)
    return stopAll(1)
  }

  const lines = [
    '',
    `gateway        ${localUrl(gatewayPort)}`,
    `gateway admin  ${localUrl(adminPort)}/ready   (also /health, /metrics; this machine only)`,
    ...children.map((i) => `${i.name.padEnd(14)} ${localUrl(i.port)}`),
    ...(skipped.length > 0 ? [`not running    ${skipped.map((s) => s.name).join(', ')} (not built: the gateway answers 503 for them)`] : []),
    '',
    'A process that exits is restarted (0.5 s, doubling to 30 s). Ctrl-C stops everything.'
  ]
  say(`${paint(1, 'the platform is up')}\n${lines.map((l) => `${' '.repeat(NAME_WIDTH)} | ${l}`).join('\n')}`)
}

void main()
