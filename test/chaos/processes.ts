/**
 * The platform's processes for the chaos run: each service started from the
 * built tree exactly as `npm start` does (`node services/<name>/dist/src/server.js`,
 * cwd the service's folder), its output appended to a log file of its own.
 * Every exit is recorded with whether the run caused it, so the checks can
 * tell a kill the run did from a process that died by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export type ServiceName = 'auth' | 'orders' | 'payments' | 'analytics' | 'gateway'

export interface Exit {
  /** ms since the epoch */
  at: number
  code: number | null
  signal: NodeJS.Signals | null
  /** The run killed or stopped it on purpose. */
  expected: boolean
}

export interface ServiceProcess {
  name: ServiceName
  port: number
  url: string
  logFile: string
  /** Spawns the process and resolves once `ready()` holds (throws after `timeoutMs` or if it exits). */
  start: (timeoutMs?: number) => Promise<void>
  /** Sends a signal the run means (the exit is expected); resolves when the process has exited. */
  kill: (signal: NodeJS.Signals) => Promise<Exit | undefined>
  isRunning: () => boolean
  pid: () => number | undefined
  exits: Exit[]
  starts: number
}

export interface ProcessOptions {
  name: ServiceName
  port: number
  env: NodeJS.ProcessEnv
  logDir: string
  /** Whether the process is up (e.g. its `/ready` answers 200). */
  ready: () => Promise<boolean>
  /** Called after every exit the run did not cause (a supervisor restarts it). */
  onUnexpectedExit?: (service: ServiceProcess, exit: Exit) => void
}

/** GET `url`, the status code (0 when nothing answered within `timeoutMs`). */
export async function statusOf (url: string, timeoutMs = 2000, headers: Record<string, string> = {}): Promise<number> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}

export function startable (options: ProcessOptions): ServiceProcess {
  const logFile = join(options.logDir, `${options.name}.log`)
  const script = join(ROOT, 'services', options.name, 'dist', 'src', 'server.js')
  let child: ChildProcess | null = null
  let exited: Promise<Exit> | null = null
  let expectExit = false

  const self: ServiceProcess = {
    name: options.name,
    port: options.port,
    url: `http://127.0.0.1:${options.port}`,
    logFile,
    exits: [],
    starts: 0,
    isRunning: () => child !== null,
    pid: () => child?.pid,
    async start (timeoutMs = 60_000) {
      if (child !== null) throw new Error(`${options.name} is already running`)
      const out = openSync(logFile, 'a')
      writeSync(out, `\n----- chaos: starting ${options.name} (start ${self.starts + 1}) at ${new Date().toISOString()} -----\n`)
      const proc = spawn(process.execPath, [script], { cwd: join(ROOT, 'services', options.name), env: options.env, stdio: ['ignore', out, out] })
      closeSync(out)
      child = proc
      expectExit = false
      self.starts++
      exited = new Promise((resolve) => {
        proc.once('exit', (code, signal) => {
          const exit: Exit = { at: Date.now(), code, signal, expected: expectExit }
          self.exits.push(exit)
          if (child === proc) child = null
          resolve(exit)
          if (!exit.expected) options.onUnexpectedExit?.(self, exit)
        })
      })
      const deadline = Date.now() + timeoutMs
      for (;;) {
        if (child !== proc) throw new Error(`${options.name} exited while starting (see ${logFile})`)
        if (await options.ready()) return
        if (Date.now() > deadline) throw new Error(`${options.name} was not ready within ${timeoutMs / 1000} s (see ${logFile})`)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    },
    async kill (signal) {
      if (child === null || exited === null) return undefined
      expectExit = true
      child.kill(signal)
      return await exited
    }
  }
  return self
}
