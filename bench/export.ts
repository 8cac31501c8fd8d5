/**
 * CSV export: GET /api/export/orders/ (every order of the read model)
 * through the gateway, read to the end by this process: rows/s, bytes, and
 * the analytics process's peak memory growth (VmRSS of /proc/<pid>/status,
 * sampled every 50 ms while the export streams, minus its value just before).
 *
 * Baseline: `psql \copy` of the same rows and columns in the same order: the
 * export's own query (exportQuery of services/analytics/src/db/export.ts) as
 * CSV with every cell quoted, PostgreSQL's fastest way out, read by this
 * process the same way (bytes and line ends counted).
 */
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { exportQuery } from '../services/analytics/dist/src/db/export.js'
import { nowMs, round } from './measure.js'
import { status } from './progress.js'

export interface ExportResult {
  rows: number
  bytes: number
  seconds: number
  rowsPerSecond: number
  /** Bytes; null when not measured. */
  rssBefore: number | null
  rssPeak: number | null
  rssGrowth: number | null
}

const NEWLINE = 10

function countLines (chunk: Uint8Array): number {
  let lines = 0
  for (let at = chunk.indexOf(NEWLINE); at !== -1; at = chunk.indexOf(NEWLINE, at + 1)) lines++
  return lines
}

/** The resident memory of a process in bytes (VmRSS), or null once it is gone. */
export async function residentBytes (pid: number): Promise<number | null> {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8')
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text)
    return match === null ? null : Number(match[1]) * 1024
  } catch {
    return null
  }
}

export async function measureExport (options: { gatewayUrl: string, token: string, analyticsPid: number | undefined, label: string }): Promise<ExportResult> {
  const pid = options.analyticsPid
  const rssBefore = pid === undefined ? null : await residentBytes(pid)
  let rssPeak = rssBefore
  let sampling = false
  const sampler = setInterval(() => {
    if (pid === undefined || sampling) return
    sampling = true
    void residentBytes(pid).then((rss) => {
      sampling = false
      if (rss !== null && (rssPeak === null || rss > rssPeak)) rssPeak = rss
    })
  }, 50)
  const started = nowMs()
  let bytes = 0
  let lines = 0
  try {
    const res = await fetch(`${options.gatewayUrl}/api/export/orders/`, { headers: { authorization: `Bearer ${options.token}` } })
    if (res.status !== 200 || res.body === null) throw new Error(`GET /api/export/orders/ answered ${res.status}: ${(await res.text()).slice(0, 300)}`)
    for await (const chunk of res.body) {
      bytes += chunk.byteLength
      lines += countLines(chunk)
      status(`${options.label}: ${lines} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB`)
    }
  } finally {
    clearInterval(sampler)
  }
  const seconds = (nowMs() - started) / 1000
  const after = pid === undefined ? null : await residentBytes(pid)
  if (after !== null && (rssPeak === null || after > rssPeak)) rssPeak = after
  const rows = Math.max(0, lines - 1)
  return {
    rows,
    bytes,
    seconds: round(seconds),
    rowsPerSecond: Math.round(rows / seconds),
    rssBefore,
    rssPeak,
    rssGrowth: rssBefore === null || rssPeak === null ? null : rssPeak - rssBefore
  }
}

/** `psql \copy (<the export's query>) TO STDOUT` as quoted CSV with a header, read to the end. */
export async function psqlBaseline (options: { databaseUrl: string, label: string }): Promise<ExportResult> {
  const { text } = exportQuery('orders', { start: null, end: null })
  // \copy takes its whole command on one line
  const command = `\\copy (${text.replace(/\s+/g, ' ')}) TO STDOUT WITH (FORMAT csv, HEADER, FORCE_QUOTE *)`
  const started = nowMs()
  let bytes = 0
  let lines = 0
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', options.databaseUrl, '-c', command], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => { stderr += chunk })
  for await (const chunk of child.stdout) {
    const buffer = chunk as Buffer
    bytes += buffer.byteLength
    lines += countLines(buffer)
    status(`${options.label}: ${lines} rows, ${(bytes / 2 ** 20).toFixed(0)} MiB`)
  }
  const code = await new Promise<number | null>((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode)
    else child.once('close', (c) => { resolve(c) })
  })
  if (code !== 0) throw new Error(`psql \\copy exited with ${code}: ${stderr.trim().slice(0, 300)}`)
  const seconds = (nowMs() - started) / 1000
  const rows = Math.max(0, lines - 1)
  return { rows, bytes, seconds: round(seconds), rowsPerSecond: Math.round(rows / seconds), rssBefore: null, rssPeak: null, rssGrowth: null }
}
