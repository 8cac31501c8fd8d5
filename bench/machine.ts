/** The machine a run was measured on, recorded beside its figures (they mean little without it). */
import { execFileSync } from 'node:child_process'
import { cpus, freemem, loadavg, totalmem, release } from 'node:os'
import type pg from 'pg'

export interface Machine {
  cores: number
  cpu: string
  memory_gib: number
  free_memory_gib: number
  node: string
  kernel: string
  postgres: string
  /** 1, 5 and 15 minute load averages when the run started (others' tests share the machine). */
  load_average_at_start: [number, number, number]
  load_average_at_end?: [number, number, number]
  git_commit: string | null
}

const gib = (bytes: number): number => Math.round(bytes / 2 ** 30 * 10) / 10
const load = (): [number, number, number] => {
  const [a = 0, b = 0, c = 0] = loadavg()
  return [Math.round(a * 100) / 100, Math.round(b * 100) / 100, Math.round(c * 100) / 100]
}

export async function describeMachine (admin: pg.Client, root: string): Promise<Machine> {
  const version = await admin.query<{ server_version: string }>('SHOW server_version')
  let commit: string | null = null
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    // not a git checkout (a tarball): the commit stays unknown
  }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    memory_gib: gib(totalmem()),
    free_memory_gib: gib(freemem()),
    node: process.version,
    kernel: release(),
    postgres: version.rows[0]?.server_version ?? 'unknown',
    load_average_at_start: load(),
    git_commit: commit
  }
}

export function loadAverageNow (): [number, number, number] {
  return load()
}
