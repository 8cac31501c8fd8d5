/**
 * Where the CPU goes while a run is measured: every process's CPU time
 * (utime + stime from /proc/<pid>/stat) before and after, summed per part of
 * the system. A CPU profile of one process cannot say this: on a saturated
 * machine the time a process spends preempted inside a write (PostgreSQL
 * woken by it, taking the core) shows up in its profile as `writev`. The
 * whole machine's accounting shows what each order costs in every process,
 * and whether the cores were all busy.
 *
 * PostgreSQL is every `postgres` process (the server is shared with other
 * databases, idle during the runs); RabbitMQ is `beam.smp`; "bench" is this
 * process (autocannon and the baselines' pg clients).
 */
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { round } from './measure.js'

export type CpuSample = { at: number, seconds: Record<string, number> }

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

function cpuSecondsOf (pid: number): { comm: string, seconds: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const close = stat.lastIndexOf(')')
    const comm = stat.slice(stat.indexOf('(') + 1, close)
    const fields = stat.slice(close + 2).split(' ')
    // fields[0] is the state (field 3 of proc(5)); utime and stime are fields 14 and 15
    return { comm, seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND }
  } catch {
    return undefined // gone meanwhile
  }
}

/** CPU seconds so far per part: the named node processes, PostgreSQL, RabbitMQ, this process. */
export function sampleCpu (processes: Record<string, number | undefined>): CpuSample {
  const seconds: Record<string, number> = {}
  const named = new Map<number, string>()
  for (const [name, pid] of Object.entries(processes)) if (pid !== undefined) named.set(pid, name)
  named.set(process.pid, 'bench')
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const pid = Number(entry)
    const cpu = cpuSecondsOf(pid)
    if (cpu === undefined) continue
    const part = named.get(pid) ?? (cpu.comm === 'postgres' ? 'postgresql' : cpu.comm === 'beam.smp' ? 'rabbitmq' : undefined)
    if (part !== undefined) seconds[part] = (seconds[part] ?? 0) + cpu.seconds
  }
  return { at: Date.now(), seconds }
}

export interface CpuUse {
  /** Cores busy on average over the window. */
  cores: number
  /** Milliseconds of CPU per unit of work (an order, a webhook), per part, largest first. */
  perUnitMs: Array<{ part: string, ms: number }>
  totalPerUnitMs: number
}

export function cpuUse (before: CpuSample, after: CpuSample, units: number): CpuUse {
  const wall = (after.at - before.at) / 1000
  const parts = Object.keys(after.seconds).map((part) => ({ part, seconds: (after.seconds[part] ?? 0) - (before.seconds[part] ?? 0) }))
    .filter((p) => p.seconds > 0)
  const total = parts.reduce((sum, p) => sum + p.seconds, 0)
  return {
    cores: round(total / wall, 2),
    perUnitMs: parts.sort((a, b) => b.seconds - a.seconds).map((p) => ({ part: p.part, ms: round(1000 * p.seconds / Math.max(1, units), 2) })),
    totalPerUnitMs: round(1000 * total / Math.max(1, units), 2)
  }
}

export function describeCpu (use: CpuUse, unit: string): string {
  return `${use.cores} of ${cpus().length} cores busy; CPU per ${unit} ${use.totalPerUnitMs} ms: ` +
    use.perUnitMs.map((p) => `${p.part} ${p.ms}`).join(', ')
}
