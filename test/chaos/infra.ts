/**
 * A private PostgreSQL and a private RabbitMQ node for the chaos run.
 *
 * Why private: the chaos run stops and restarts its broker and its database
 * server, and the machine's own PostgreSQL (5432) and RabbitMQ (5672) are
 * shared by every developer's tests. So the run starts its own, on free ports,
 * with their data in a temporary directory, and throws them away afterwards.
 *
 * What works on this kind of machine (Debian 12, PostgreSQL 15, RabbitMQ 3.10,
 * everything run as root):
 * - PostgreSQL refuses to run as root: initdb and pg_ctl run as the `postgres`
 *   OS user (`runuser -u postgres --`) when we are root, as ourselves
 *   otherwise. Trust auth, listen on 127.0.0.1 only, its socket in its own
 *   directory, fsync off (a test cluster; an immediate stop only kills the
 *   processes, the OS still has every page). synchronous_commit stays on: off,
 *   an immediate stop loses commits already confirmed to clients (a first run
 *   caught exactly that: a webhook answered 200 whose settlement was gone).
 * - RabbitMQ: Debian's `/usr/sbin/rabbitmq-server` is a wrapper that switches
 *   to the `rabbitmq` user (and its Erlang cookie), so the real scripts in
 *   /usr/lib/rabbitmq/bin are run directly, as the current user, with HOME in
 *   the temporary directory (a cookie of its own: this node and the shared one
 *   cannot talk to each other's CLI by mistake). The node has its own
 *   RABBITMQ_NODENAME, AMQP and distribution ports, mnesia, log and
 *   enabled-plugins files, and its own config and env files, because the
 *   machine's /etc/rabbitmq names 127.0.0.1:5672 and rabbit@localhost. It
 *   registers with the machine's epmd (port 4369) under its own name, which
 *   is what epmd is for. Boot takes about 5 s.
 * Overrides: PG_BIN (directory of initdb/pg_ctl), RABBITMQ_SBIN (directory of
 * rabbitmq-server/rabbitmqctl).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdirSync, openSync, readdirSync, closeSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freeLowPort } from '@topup/service-kit/testing'

interface Run { code: number, output: string }

/** Runs a command to its end (never throws on a non-zero exit: the caller decides). */
function run (file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, output: `${stdout}${stderr}`.trim() })
    })
  })
}

async function must (what: string, result: Promise<Run>): Promise<string> {
  const { code, output } = await result
  if (code !== 0) throw new Error(`${what} failed (exit ${code}):\n${output}`)
  return output
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0

function userIds (name: string): { uid: number, gid: number } {
  const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' })
  const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' })
  if (uid.status !== 0 || gid.status !== 0) throw new Error(`running as root, but there is no "${name}" user to run PostgreSQL as`)
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) }
}

// ---------------------------------------------------------------------------
// PostgreSQL

export interface PrivatePostgres {
  port: number
  /** Admin URL (database `postgres`, user postgres, trust). */
  adminUrl: string
  /** URL of database `name` on this server. */
  urlOf: (name: string) => string
  dataDir: string
  logFile: string
  /** `pg_ctl restart` with the given mode (`immediate`: like a crash, then recovery). */
  restart: (mode: 'fast' | 'immediate') => Promise<void>
  stop: () => Promise<void>
  /** Last resort on exit (synchronous): an immediate stop. */
  stopNow: () => void
  /** The command a developer runs to start it again (after `--keep`). */
  startCommand: string
}

function postgresBin (): string {
  if (process.env.PG_BIN !== undefined && process.env.PG_BIN !== '') return process.env.PG_BIN
  const root = '/usr/lib/postgresql'
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : []
  for (const version of versions) {
    const bin = join(root, version, 'bin')
    if (existsSync(join(bin, 'initdb'))) return bin
  }
  throw new Error('no PostgreSQL server binaries found (set PG_BIN to the directory of initdb and pg_ctl)')
}

export async function startPrivatePostgres (baseDir: string, logDir: string): Promise<PrivatePostgres> {
  const bin = postgresBin()
  const dir = join(baseDir, 'postgres')
  const dataDir = join(dir, 'data')
  const logFile = join(logDir, 'postgres.log')
  mkdirSync(dir, { recursive: true })
  const root = isRoot()
  if (root) {
    const { uid, gid } = userIds('postgres')
    // the postgres user must reach its directory and its log file through ours
    chmodSync(baseDir, 0o755)
    chmodSync(logDir, 0o755)
    chownSync(dir, uid, gid)
    writeFileSync(logFile, '')
    chownSync(logFile, uid, gid)
  }
  const as = (tool: string, args: string[]): [string, string[]] => root ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args]

  await must('initdb', run(...as('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '-N'])))
  const port = await freeLowPort()
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`
  // -l: the server's output goes to the log file (without it pg_ctl's caller would hold the server's stdout)
  const start = (): Promise<string> => must('pg_ctl start', run(...as('pg_ctl', ['-D', dataDir, '-l', logFile, '-o', options, '-w', '-t', '60', 'start'])))
  await start()
  const url = (name: string): string => `postgres://postgres@127.0.0.1:${port}/${name}`
  const startCommand = `${root ? 'runuser -u postgres -- ' : ''}${join(bin, 'pg_ctl')} -D ${dataDir} -l ${logFile} -o '${options}' -w start`
  return {
    port,
    adminUrl: url('postgres'),
    urlOf: url,
    dataDir,
    logFile,
    startCommand,
    async restart (mode) {
      await must('pg_ctl stop', run(...as('pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop'])))
      await start()
    },
    async stop () {
      await run(...as('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', '-t', '30', 'stop']))
    },
    stopNow () {
      const [file, args] = as('pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', '-t', '10', 'stop'])
      spawnSync(file, args, { stdio: 'ignore' })
    }
  }
}

// ---------------------------------------------------------------------------
// RabbitMQ

export interface PrivateRabbit {
  node: string
  port: number
  distPort: number
  /** amqp://guest:guest@127.0.0.1:<port> */
  url: string
  logFile: string
  /** `rabbitmqctl -n <node> stop`; resolves once the server process has exited. */
  stop: () => Promise<void>
  /** Starts the node again and waits for `await_startup`. */
  start: () => Promise<void>
  isRunning: () => boolean
  /** Kills the node's process group (last resort, e.g. on exit). */
  kill: () => void
}

function rabbitSbin (): string {
  if (process.env.RABBITMQ_SBIN !== undefined && process.env.RABBITMQ_SBIN !== '') return process.env.RABBITMQ_SBIN
  for (const dir of ['/usr/lib/rabbitmq/bin', '/usr/local/sbin', '/usr/sbin']) {
    if (existsSync(join(dir, 'rabbitmq-server')) && existsSync(join(dir, 'rabbitmqctl'))) return dir
  }
  throw new Error('no rabbitmq-server found (set RABBITMQ_SBIN to the directory of rabbitmq-server and rabbitmqctl)')
}

export async function startPrivateRabbit (baseDir: string, logDir: string): Promise<PrivateRabbit> {
  const sbin = rabbitSbin()
  const dir = join(baseDir, 'rabbitmq')
  for (const sub of ['home', 'mnesia', 'log']) mkdirSync(join(dir, sub), { recursive: true })
  const port = await freeLowPort()
  let distPort = await freeLowPort()
  while (distPort === port) distPort = await freeLowPort()
  const node = `chaos-${process.pid}@localhost`
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n')
  // replaces /etc/rabbitmq/rabbitmq-env.conf (which names the shared node)
  writeFileSync(join(dir, 'rabbitmq-env.conf'), 'ERL_EPMD_ADDRESS=127.0.0.1\n')
  // replaces /etc/rabbitmq/rabbitmq.conf (which binds 127.0.0.1:5672)
  writeFileSync(join(dir, 'rabbitmq.conf'), [
    `listeners.tcp.default = 127.0.0.1:${port}`,
    'loopback_users.guest = true',
    // a 2-core machine running every service too: no disk alarm on a small temp disk
    'disk_free_limit.absolute = 50MB',
    ''
  ].join('\n'))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: join(dir, 'home'),
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    ERL_FLAGS: '-kernel inet_dist_use_interface {127,0,0,1}'
  }
  const logFile = join(logDir, 'rabbitmq.log')
  const ctl = (args: string[], timeoutMs = 90_000): Promise<Run> => run(join(sbin, 'rabbitmqctl'), ['-n', node, ...args], { env, timeoutMs })

  let child: ChildProcess | null = null
  let exited: Promise<void> = Promise.resolve()

  async function start (): Promise<void> {
    const out = openSync(logFile, 'a')
    // own process group, so that a last-resort kill reaches the Erlang VM under the start script
    const proc = spawn(join(sbin, 'rabbitmq-server'), [], { env, stdio: ['ignore', out, out], detached: true })
    closeSync(out)
    child = proc
    exited = new Promise((resolve) => { proc.once('exit', () => { if (child === proc) child = null; resolve() }) })
    // await_startup waits for the boot to finish (it fails at once while the node is not registered yet)
    const deadline = Date.now() + 90_000
    for (;;) {
      const result = await ctl(['await_startup', '--timeout', '60'])
      if (result.code === 0) return
      if (child !== proc) throw new Error(`RabbitMQ node ${node} exited while starting (see ${logFile}):\n${result.output}`)
      if (Date.now() > deadline) throw new Error(`RabbitMQ node ${node} did not start within 90 s:\n${result.output}`)
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }

  const kill = (): void => {
    const pid = child?.pid
    if (pid === undefined) return
    try { process.kill(-pid, 'SIGKILL') } catch { /* already gone */ }
  }
  try {
    await start()
  } catch (err) {
    kill()
    throw err
  }
  return {
    node,
    port,
    distPort,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    logFile,
    start,
    async stop () {
      await must(`rabbitmqctl -n ${node} stop`, ctl(['stop']))
      await exited
    },
    isRunning: () => child !== null,
    kill
  }
}
