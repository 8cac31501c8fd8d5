/**
 * The processes of `npm start`, supervised: one that exits without being
 * asked to (a crash, a kill -9, an exit 0 nobody asked for) is started again
 * after a delay that doubles from 0.5 s to 30 s (±25 % jitter), and one that
 * had stayed up for 30 s starts again from 0.5 s; each crash and restart is a
 * line on the `start` prefix with the process id. Only a process that never
 * got ready at the first start is not restarted: main.ts stops everything
 * then (its configuration or port is wrong: trying again would repeat it).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import type { Readable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { GATEWAY, SANDBOXES } from '../services.js'
import { restartDelay, RESTART_STABLE_MS } from './backoff.js'
import { childEnv, directoryOf, readinessUrlOf, scriptOf, type Instance, type Plan } from './instances.js'
import type { LogView } from './log-view.js'
import { waitUntilReady } from './readiness.js'

/** How long the processes get to stop after SIGTERM before they are killed. */
const STOP_TIMEOUT_MS = 15_000

export interface Exit { code: number | null, signal: NodeJS.Signals | null }

/** One process of an instance. */
interface Run {
  child: ChildProcessByStdio<null, Readable, Readable>
  startedAt: number
  /** Resolves on 'close': the process has exited and its output has been read to the end. */
  exited: Promise<Exit>
  done: boolean
  /** Aborted once the process has exited. */
  gone: AbortSignal
}

/** An instance across its restarts. */
interface Slot {
  instance: Instance
  run: Run
  /** Ready at least once: from then on it is restarted when it exits. */
  upOnce: boolean
  /** Crashes in a row (back to 0 after RESTART_STABLE_MS up). */
  failures: number
  restarts: number
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const describeExit = ({ code, signal }: Exit): string => signal ?? `code ${code}`

export class Supervisor {
  private readonly slots = new Map<string, Slot>()
  /** Aborted by stopAll: no readiness wait and no restart delay outlives it. */
  private readonly stopping = new AbortController()

  constructor (
    private readonly plan: Plan,
    private readonly view: LogView,
    private readonly options: { readyTimeoutMs: number, env: NodeJS.ProcessEnv }
  ) {}

  get isStopping (): boolean {
    return this.stopping.signal.aborted
  }

  /** Starts (or starts again) the process of `instance`; returns its pid. */
  start (instance: Instance): number | undefined {
    const child = spawn(process.execPath, [scriptOf(instance.spec.name)], {
      cwd: directoryOf(instance.spec.name),
      env: childEnv(this.plan, instance, this.options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
      // own process group: a Ctrl-C in the terminal reaches only this launcher,
      // which stops the services in order (a second signal would make them exit 1)
      detached: true
    })
    const gone = new AbortController()
    const run: Run = {
      child,
      startedAt: Date.now(),
      done: false,
      gone: gone.signal,
      exited: new Promise((resolve) => {
        child.once('close', (code, signal) => {
          run.done = true
          gone.abort(new Error(`${instance.name} exited before it was ready`))
          resolve({ code, signal })
        })
      })
    }
    child.once('error', (err) => { this.view.complain(`${instance.name} could not be started: ${err.message}`) })
    this.view.follow(child.stdout, instance.name, process.stdout)
    this.view.follow(child.stderr, instance.name, process.stderr)
    const slot = this.slots.get(instance.name)
    if (slot === undefined) this.slots.set(instance.name, { instance, run, upOnce: false, failures: 0, restarts: 0 })
    else slot.run = run
    void run.exited.then((exit) => { this.onExit(instance.name, run, exit) })
    return child.pid
  }

  /**
   * Resolves when the current process of `instance` is ready; rejects if that
   * process exits (even if a restart has taken its place), everything is
   * stopping, or time runs out. Once ready, it is restarted whenever it exits.
   */
  async waitUntilReady (instance: Instance): Promise<void> {
    const slot = this.slotOf(instance.name)
    const { run } = slot
    await waitUntilReady(instance.name, readinessUrlOf(this.plan, instance), {
      timeoutMs: this.options.readyTimeoutMs,
      signal: AbortSignal.any([run.gone, this.stopping.signal])
    })
    slot.upOnce = true
  }

  private slotOf (name: string): Slot {
    const slot = this.slots.get(name)
    if (slot === undefined) throw new Error(`${name} was never started`)
    return slot
  }

  private onExit (name: string, run: Run, exit: Exit): void {
    if (this.isStopping) {
      if (exit.code !== 0 && exit.signal !== 'SIGTERM') this.view.say(`${name} exited with ${describeExit(exit)}`)
      return
    }
    const slot = this.slotOf(name)
    // never ready yet at the first start: main.ts reports it and stops everything
    if (!slot.upOnce) return
    const upFor = Date.now() - run.startedAt
    if (upFor >= RESTART_STABLE_MS) slot.failures = 0
    const delay = restartDelay(slot.failures)
    slot.failures += 1
    slot.restarts += 1
    this.view.complain(`${name} (pid ${run.child.pid}) exited unexpectedly (${describeExit(exit)}) after ${seconds(upFor)} up; ` +
      `restarting it in ${seconds(delay)} (restart ${slot.restarts}${slot.failures > 1 ? `, ${slot.failures} crashes in a row` : ''})`)
    void this.restartAfter(slot, delay)
  }

  private async restartAfter (slot: Slot, delay: number): Promise<void> {
    try {
      await sleep(delay, undefined, { signal: this.stopping.signal })
    } catch {
      return // stopping: the restart that was due does not happen
    }
    const { instance } = slot
    const pid = this.start(instance)
    const { run } = slot
    this.view.say(`restarted ${instance.name} on port ${instance.port} (pid ${pid})`)
    const started = Date.now()
    try {
      await this.waitUntilReady(instance)
      this.view.say(`${instance.name} is ready again after ${seconds(Date.now() - started)} (pid ${pid})`)
    } catch (err) {
      // exited again (onExit schedules the next try) or still not ready: it keeps running
      if (!this.isStopping && slot.run === run && !run.done) this.view.complain((err as Error).message)
    }
  }

  private signal (slot: Slot, signal: NodeJS.Signals): void {
    if (slot.run.done) return
    try {
      slot.run.child.kill(signal)
    } catch {
      // already gone
    }
  }

  /** SIGKILL to every process still running (a second Ctrl-C; this launcher exiting). */
  killAll (): void {
    for (const slot of this.slots.values()) this.signal(slot, 'SIGKILL')
  }

  /**
   * Gateway first (no new requests reach the services), then the rest;
   * SIGKILL what is left after 15 s. Cancels every restart still waiting for
   * its delay, then exits with `exitCode`. Called again while stopping: nothing.
   */
  async stopAll (exitCode: number): Promise<void> {
    if (this.isStopping) return
    this.stopping.abort(new Error('stopping'))
    const force = setTimeout(() => {
      for (const [name, slot] of this.slots) {
        if (!slot.run.done) {
          this.view.complain(`${name} did not stop within ${STOP_TIMEOUT_MS / 1000} s: killing it`)
          this.signal(slot, 'SIGKILL')
        }
      }
    }, STOP_TIMEOUT_MS)
    const gateway = this.slots.get(GATEWAY.name)
    if (gateway !== undefined && !gateway.run.done) {
      this.view.say('stopping gateway')
      this.signal(gateway, 'SIGTERM')
      await gateway.run.exited
    }
    // then the services, and the sandboxes last: a service finishing its work may still call one
    const running = [...this.slots].filter(([name, slot]) => name !== GATEWAY.name && !slot.run.done)
    const isSandbox = ([, slot]: [string, Slot]): boolean => SANDBOXES.some((s) => s.name === slot.instance.spec.name)
    for (const group of [running.filter((r) => !isSandbox(r)), running.filter(isSandbox)]) {
      if (group.length === 0) continue
      this.view.say(`stopping ${group.map(([name]) => name).join(', ')}`)
      for (const [, slot] of group) this.signal(slot, 'SIGTERM')
      await Promise.all(group.map(([, slot]) => slot.run.exited))
    }
    clearTimeout(force)
    this.view.say(exitCode === 0 ? 'all stopped' : 'all stopped after a failure')
    process.exit(exitCode)
  }
}
