/**
 * `npm start` is a supervisor, not a domino: the launcher (scripts/start/main.ts,
 * run the way `npm start` runs it: LAUNCHER) runs the
 * built services and the gateway as real processes (build first: `npm test`
 * does), on ports and databases of this test's own, under a broker prefix of
 * its own. A service and then the gateway are killed with SIGKILL; the launcher
 * keeps running, logs each crash and restart, starts the process again after a
 * delay that doubles, and the platform answers through the gateway again.
 * SIGTERM then stops everything, gateway first, exits 0 and leaves no process
 * and no port behind — and a restart that was waiting for its delay when the
 * SIGTERM came never happens.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { deleteTopologyAt } from '@topup/messaging'
import { createTestDatabase, freeLowPort, rabbitUrl, uniqueName, waitFor } from '@topup/service-kit/testing'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
/** How package.json's `start` script runs the launcher (after its build). */
const LAUNCHER = ['--import', '@tapjs/typescript/import', join(ROOT, 'scripts', 'start', 'main.ts')]
const SERVICES = ['auth', 'orders', 'payments', 'analytics'] as const
type Service = typeof SERVICES[number]
type Name = Service | 'gateway'
/** How long the platform may take to answer again after a kill (restart delay + start + the gateway noticing). */
const BACK_WITHIN_MS = 15_000

interface Launcher {
  child: ChildProcess
  /** Every line start.mjs printed (its own and its children's, prefixed), stdout and stderr together. */
  lines: string[]
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
  done: boolean
  ports: Record<Name | 'admin', number>
}

/** The `start | …` lines of the launcher itself (the banner's prefix), without the children's. */
const ownLines = (l: Launcher): string[] => l.lines.filter((line) => /^start\s* \| /.test(line)).map((line) => line.replace(/^start\s* \| /, ''))

/** The first of start.mjs's own lines matching `pattern` (from its `from`th own line on), once it has been printed. */
async function line (l: Launcher, what: string, pattern: RegExp, { from = 0, timeoutMs = BACK_WITHIN_MS } = {}): Promise<RegExpMatchArray> {
  let match: RegExpMatchArray | undefined
  await waitFor(what, () => {
    if (l.done) throw new Error(`start.mjs exited while waiting for ${what}:\n${l.lines.slice(-30).join('\n')}`)
    for (const own of ownLines(l).slice(from)) {
      match = own.match(pattern) ?? undefined
      if (match !== undefined) return true
    }
    return false
  }, timeoutMs)
  if (match === undefined) throw new Error(`no line for ${what}`)
  return match
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Whether something accepts connections on 127.0.0.1:port. */
async function listening (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    socket.setTimeout(2_000)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
    socket.once('timeout', () => { socket.destroy(); resolve(true) })
  })
}

async function statusOf (url: string): Promise<number> {
  const response = await fetch(url, { signal: AbortSignal.timeout(3_000) })
  await response.arrayBuffer()
  return response.status
}

t.test('npm start restarts a killed service and a killed gateway, and SIGTERM still stops everything', async (t) => {
  const cleanups: Array<() => unknown> = []
  const launchers: Launcher[] = []
  /** Every process id start.mjs reported, so that none can outlive a failed test. */
  const pids = new Set<number>()
  t.teardown(async () => {
    for (const l of launchers) {
      if (!l.done) l.child.kill('SIGKILL')
      await l.exited
    }
    // the children run in process groups of their own: a launcher killed by force leaves them
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL')
    await waitFor('every child gone', () => [...pids].every((pid) => !alive(pid)), 10_000).catch(() => {})
    for (const fn of cleanups.reverse()) {
      try { await fn() } catch (err) { t.comment(`cleanup: ${(err as Error).message}`) }
    }
  })

  const amqpUrl = await rabbitUrl()
  const prefix = `${uniqueName('start')}.`
  cleanups.push(async () => { await deleteTopologyAt(amqpUrl, prefix, ['orders', 'payments', 'analytics']) })
  const databaseTeardown = { teardown: (fn: () => unknown) => { cleanups.push(fn) } }
  const databases = {} as Record<Service, string>
  for (const service of SERVICES) databases[service] = await createTestDatabase(databaseTeardown, `start_${service}`)
  // the game publisher's sandbox runs too (npm start starts it first), on a port and database of this test's
  const sandbox = { port: await freeLowPort(), database: await createTestDatabase(databaseTeardown, 'start_publisher') }

  function launch (ports: Record<Name | 'admin', number>): Launcher {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      TS_NODE_TRANSPILE_ONLY: '1',
      NO_COLOR: '1',
      LOG_LEVEL: 'warn',
      AMQP_URL: amqpUrl,
      BROKER_PREFIX: prefix,
      GATEWAY_PORT: String(ports.gateway),
      GATEWAY_ADMIN_PORT: String(ports.admin),
      PUBLISHER_SANDBOX_PORT: String(sandbox.port),
      PUBLISHER_SANDBOX_DATABASE_URL: sandbox.database
    }
    for (const service of SERVICES) {
      env[`${service.toUpperCase()}_PORT`] = String(ports[service])
      env[`${service.toUpperCase()}_DATABASE_URL`] = databases[service]
    }
    const child = spawn(process.execPath, LAUNCHER, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const l: Launcher = { child, lines: [], done: false, ports, exited: Promise.resolve({ code: null, signal: null }) }
    const collect = (): ((chunk: Buffer) => void) => {
      let partial = ''
      return (chunk) => {
        const parts = (partial + chunk.toString('utf8')).split('\n')
        partial = parts.pop() ?? ''
        for (const part of parts) {
          l.lines.push(part)
          for (const [, pid] of part.matchAll(/\bpid (\d+)/g)) pids.add(Number(pid))
        }
      }
    }
    child.stdout.on('data', collect())
    child.stderr.on('data', collect())
    l.exited = new Promise((resolve) => {
      child.once('close', (code, signal) => {
        l.done = true
        resolve({ code, signal })
      })
    })
    launchers.push(l)
    return l
  }

  /**
   * Starts the platform on free ports until the gateway proxies the catalog.
   * A port can be taken between freeLowPort() and the child's bind (start.mjs
   * then stops with EADDRINUSE): then other ports.
   */
  async function startPlatform (): Promise<Launcher> {
    for (let attempt = 1; ; attempt++) {
      const ports = {} as Record<Name | 'admin', number>
      const taken = new Set<number>()
      for (const name of [...SERVICES, 'gateway', 'admin'] as const) {
        let port: number
        do port = await freeLowPort(20_000, 32_000); while (taken.has(port))
        taken.add(port)
        ports[name] = port
      }
      const l = launch(ports)
      try {
        await line(l, 'the platform is up', /the platform is up/, { timeoutMs: 90_000 })
        return l
      } catch (err) {
        await l.exited
        if (!l.lines.some((x) => x.includes('EADDRINUSE')) || attempt === 3) throw err
        t.comment(`a port was taken before a child could listen (attempt ${attempt}); other ports`)
      }
    }
  }

  const started = Date.now()
  const l = await startPlatform()
  t.teardown(() => {
    if (!t.passing()) t.comment(`start.mjs printed:\n${l.lines.slice(-60).join('\n')}`)
  })
  const games = `http://127.0.0.1:${l.ports.gateway}/api/games/`
  const admin = `http://127.0.0.1:${l.ports.admin}`
  await waitFor('the gateway proxies /api/games/ with 200', async () => await statusOf(games).catch(() => 0) === 200, 30_000, 100)
  t.comment(`platform up in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  const pidOf = async (name: Name): Promise<number> => {
    const port = l.ports[name]
    const [, pid] = await line(l, `${name}'s pid`, new RegExp(`^starting ${name} on port ${port}\\b.*\\(pid (\\d+)\\)`))
    return Number(pid)
  }
  const firstPids = {} as Record<Name, number>
  for (const name of [...SERVICES, 'gateway'] as const) firstPids[name] = await pidOf(name)
  // (the banner's further lines are indented under the `start` prefix)
  t.ok(l.lines.some((x) => x.includes(`| gateway admin  http://127.0.0.1:${l.ports.admin}/ready`)), 'the banner prints the gateway\'s admin URL')
  t.equal(await statusOf(`${admin}/health`), 200, 'the gateway\'s health answers on its admin port (GATEWAY_ADMIN_PORT → ADMIN_PORT)')

  /** Kills `name` (SIGKILL), checks the launcher logs the crash and a restart after about `delay` s, and returns the new pid and the logged delay. */
  async function killAndSeeRestart (name: Name, pid: number, restart: number): Promise<{ pid: number, delaySeconds: number }> {
    const port = l.ports[name]
    const from = ownLines(l).length
    process.kill(pid, 'SIGKILL')
    const [crash, delay] = await line(l, `${name}'s crash logged`,
      new RegExp(`^${name} \\(pid ${pid}\\) exited unexpectedly \\(SIGKILL\\) after [\\d.]+ s up; restarting it in ([\\d.]+) s \\(restart ${restart}\\b.*$`), { from })
    t.pass(`logged: ${crash}`)
    if (name === 'orders') {
      // orders is down and its restart not due yet: the gateway says so
      t.equal(await statusOf(games).catch(() => 0), 503, 'while orders is down, the gateway answers 503 for /api/games/')
    }
    const [restarted, newPid] = await line(l, `${name} restarted`, new RegExp(`^restarted ${name} on port ${port} \\(pid (\\d+)\\)`), { from })
    t.pass(`logged: ${restarted}`)
    t.not(Number(newPid), pid, `${name} runs as a new process`)
    t.notOk(l.done, 'start.mjs is still running')
    await waitFor(`/api/games/ answering 200 again after ${name} was killed`, async () => await statusOf(games).catch(() => 0) === 200, BACK_WITHIN_MS, 100)
    t.pass(`/api/games/ answers 200 again after ${name} was killed`)
    await line(l, `${name} ready again`, new RegExp(`^${name} is ready again after [\\d.]+ s \\(pid ${newPid}\\)`), { from })
    return { pid: Number(newPid), delaySeconds: Number(delay) }
  }

  // --- a service ------------------------------------------------------------
  const orders1 = await killAndSeeRestart('orders', firstPids.orders, 1)
  t.ok(orders1.delaySeconds >= 0.3 && orders1.delaySeconds <= 0.7, `the first restart waits about 0.5 s (${orders1.delaySeconds} s)`)
  // again at once: the delay doubles (it had not stayed up for 30 s)
  const orders2 = await killAndSeeRestart('orders', orders1.pid, 2)
  t.ok(orders2.delaySeconds >= 0.7 && orders2.delaySeconds <= 1.3, `a second crash in a row waits about 1 s (${orders2.delaySeconds} s)`)
  t.ok(ownLines(l).some((x) => /^orders .*\(restart 2, 2 crashes in a row\)/.test(x)), 'the log says how many crashes in a row')

  // --- the gateway ------------------------------------------------------------
  const gateway = await killAndSeeRestart('gateway', firstPids.gateway, 1)
  t.ok(gateway.delaySeconds >= 0.3 && gateway.delaySeconds <= 0.7, `each process has its own backoff: the gateway's first restart waits about 0.5 s (${gateway.delaySeconds} s)`)
  t.equal(await statusOf(`${admin}/health`), 200, 'the new gateway answers on its admin port')

  for (const name of ['auth', 'payments', 'analytics'] as const) t.ok(alive(firstPids[name]), `${name} was left running (pid ${firstPids[name]})`)
  t.notOk(ownLines(l).some((x) => x.startsWith('stopping')), 'nothing was stopped')

  // --- a crash, then SIGTERM before its restart is due ------------------------------
  const from = ownLines(l).length
  process.kill(firstPids.payments, 'SIGKILL')
  await line(l, 'payments\' crash logged', new RegExp(`^payments \\(pid ${firstPids.payments}\\) exited unexpectedly \\(SIGKILL\\).*restarting it in`), { from })
  l.child.kill('SIGTERM')
  const exit = await Promise.race([l.exited, new Promise<'hung'>((resolve) => { setTimeout(() => { resolve('hung') }, 30_000) })])
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: start.mjs exits 0')
  const own = ownLines(l)
  t.notOk(own.some((x) => x.startsWith('restarted payments')), 'the restart that was due after the SIGTERM did not happen')
  const stopping = own.findIndex((x) => x === 'stopping gateway')
  const others = own.findIndex((x) => x.startsWith('stopping auth'))
  t.ok(stopping >= 0 && others > stopping, `the gateway was stopped first, then the services (${own.slice(stopping, others + 1).join(' / ')})`)
  t.equal(own.at(-1), 'all stopped', 'the last word: all stopped')

  const left = [...pids].filter(alive)
  t.same(left, [], `no child left (of ${pids.size} processes started)`)
  const open = []
  for (const [name, port] of Object.entries(l.ports)) if (await listening(port)) open.push(`${name}:${port}`)
  t.same(open, [], 'every port is free again')
})
