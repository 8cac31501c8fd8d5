/**
 * The results of a run: bench/results/<date>.json (every number) and
 * bench/results/<date>.md (the table: each figure beside its baseline from
 * the same run, the ratio, the goal and whether it was met, then the
 * machine). `--readme` also puts the table into the README's "Benchmarks"
 * section, between its two marker comments.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { Machine } from './machine.js'

export interface Figure {
  /** Stable key (intake, lag.payments, dashboard.1000000 …). */
  id: string
  figure: string
  measured: string
  baseline: string
  /** See `ratio_means`; null where the figure has no baseline. */
  ratio: number | null
  goal: string
  /** null: not measured in this run. */
  met: boolean | null
  /** A figure shown for comparison, with no goal of its own. */
  informational?: boolean
  data: Record<string, unknown>
}

export interface Results {
  date: string
  mode: 'full' | 'quick'
  started_at: string
  finished_at: string
  duration_seconds: number
  settings: Record<string, unknown>
  machine: Machine
  figures: Figure[]
  ratio_means: string
  notes: string[]
  not_measured: string[]
  phases: Array<{ phase: string, seconds: number }>
  logs: string
}

export const RATIO_MEANS = 'the system against its baseline in the same run, higher is better: throughput ÷ baseline throughput (intake, settlement, export); baseline p95 ÷ summary p95 for the dashboard (how many times faster than scanning the orders)'

const README_START = '<!-- bench:results:start -->'
const README_END = '<!-- bench:results:end -->'

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
const metText = (f: Figure): string => f.informational === true ? '—' : f.met === null ? 'not measured' : f.met ? '**yes**' : 'no'

export function machineLine (m: Machine): string {
  const [a, b, c] = m.load_average_at_start
  const end = m.load_average_at_end === undefined ? '' : `, at the end ${m.load_average_at_end.join(' / ')}`
  return `${m.cores} cores (${m.cpu}), ${m.memory_gib} GiB memory, Node ${m.node}, PostgreSQL ${m.postgres}, Linux ${m.kernel}; ` +
    `load average at start ${a} / ${b} / ${c} (1 / 5 / 15 min)${end}; commit ${m.git_commit ?? 'unknown'}`
}

export function markdownTable (results: Results): string {
  const lines = [
    '| figure | measured | baseline (same run) | ratio | goal | met |',
    '|---|---|---|---|---|---|',
    ...results.figures.map((f) => `| ${cell(f.figure)} | ${cell(f.measured)} | ${cell(f.baseline)} | ${f.ratio === null ? '—' : f.ratio.toFixed(2)} | ${cell(f.goal)} | ${metText(f)} |`)
  ]
  return lines.join('\n')
}

export function markdown (results: Results): string {
  const parts = [
    `# Benchmark ${results.date}${results.mode === 'quick' ? ' (--quick: the 10 M dashboard step skipped, shorter intake)' : ''}`,
    '',
    `\`npm run bench${results.mode === 'quick' ? ' -- --quick' : ''}\`, ${Math.round(results.duration_seconds)} s in all, started ${results.started_at}.`,
    '',
    `Machine: ${machineLine(results.machine)}.`,
    '',
    markdownTable(results),
    '',
    `Ratio: ${results.ratio_means}.`,
    ''
  ]
  if (results.notes.length > 0) parts.push(...results.notes.map((n) => `- ${n}`), '')
  if (results.not_measured.length > 0) parts.push('Not measured in this run:', '', ...results.not_measured.map((n) => `- ${n}`), '')
  parts.push('Phases: ' + results.phases.map((p) => `${p.phase} ${Math.round(p.seconds)} s`).join(', ') + '.', '')
  return parts.join('\n')
}

export async function writeResults (dir: string, results: Results): Promise<{ json: string, md: string }> {
  await mkdir(dir, { recursive: true })
  const base = results.mode === 'quick' ? `${results.date}-quick` : results.date
  const json = join(dir, `${base}.json`)
  const md = join(dir, `${base}.md`)
  await writeFile(json, `${JSON.stringify(results, null, 2)}\n`)
  await writeFile(md, markdown(results))
  return { json, md }
}

/** Replaces what is between the README's markers with this run's table and machine; false when the markers are missing. */
export async function updateReadme (readmePath: string, results: Results, resultsFile: string): Promise<boolean> {
  const text = await readFile(readmePath, 'utf8')
  const start = text.indexOf(README_START)
  const end = text.indexOf(README_END)
  if (start === -1 || end === -1 || end < start) return false
  const body = [
    README_START,
    `Latest run: ${results.date}${results.mode === 'quick' ? ' (--quick)' : ''}, ${Math.round(results.duration_seconds)} s, [${resultsFile}](${resultsFile}).`,
    `Machine: ${machineLine(results.machine)}.`,
    '',
    markdownTable(results),
    '',
    `Ratio: ${results.ratio_means}.`,
    ''
  ].join('\n')
  await writeFile(readmePath, text.slice(0, start) + body + text.slice(end))
  return true
}
