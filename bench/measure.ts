/**
 * Measuring helpers shared by the jobs: latency histograms (Node's own HDR
 * histogram, `perf_hooks.createHistogram`, the same kind autocannon keeps) and
 * the closed-loop driver of the direct-to-PostgreSQL baselines.
 */
import { createHistogram, performance, type RecordableHistogram } from 'node:perf_hooks'

/** Wall-clock milliseconds since the epoch, sub-millisecond (comparable with PostgreSQL's timestamps). */
export function nowMs (): number {
  return performance.timeOrigin + performance.now()
}

export interface Latency {
  /** Milliseconds. */
  p50: number
  p95: number
  p99: number
  max: number
  count: number
}

/** Latencies in milliseconds, recorded with microsecond resolution. */
export class Latencies {
  private readonly histogram: RecordableHistogram = createHistogram()
  private readonly floor: number

  /** `floor`: the smallest value kept (HDR histograms take positive integers only): lower samples are recorded as it. */
  constructor (floorMs = 0.001) { this.floor = floorMs }

  record (ms: number): void {
    this.histogram.record(Math.max(1, Math.round(Math.max(ms, this.floor) * 1000)))
  }

  get count (): number { return this.histogram.count }

  summary (): Latency {
    const at = (p: number): number => round(this.histogram.percentile(p) / 1000, 1)
    return { p50: at(50), p95: at(95), p99: at(99), max: round(this.histogram.max / 1000, 1), count: this.histogram.count }
  }
}

export function round (value: number, places = 2): number {
  const factor = 10 ** places
  return Math.round(value * factor) / factor
}

export interface ClosedLoopResult {
  /** Operations completed. */
  done: number
  errors: number
  firstError: string | null
  seconds: number
  perSecond: number
  latency: Latency
}

/**
 * `concurrency` workers, each running `operation(i)` back to back (i counts
 * every started operation from 0) until `seconds` have passed or `count`
 * operations have started: the closed loop autocannon runs against HTTP, here
 * against a function (a pg transaction). A worker with no work left stops.
 */
export async function closedLoop (options: {
  concurrency: number
  seconds?: number
  count?: number
  operation: (i: number) => Promise<void>
  onProgress?: (done: number) => void
}): Promise<ClosedLoopResult> {
  const latencies = new Latencies()
  const started = nowMs()
  const deadline = options.seconds === undefined ? Infinity : started + options.seconds * 1000
  const limit = options.count ?? Infinity
  let next = 0
  let done = 0
  let errors = 0
  let firstError: string | null = null
  const worker = async (): Promise<void> => {
    while (nowMs() < deadline && next < limit) {
      const i = next++
      const t0 = nowMs()
      try {
        await options.operation(i)
        latencies.record(nowMs() - t0)
        done++
        options.onProgress?.(done)
      } catch (err) {
        errors++
        firstError ??= err instanceof Error ? err.message : String(err)
      }
    }
  }
  await Promise.all(Array.from({ length: options.concurrency }, worker))
  const seconds = (nowMs() - started) / 1000
  return { done, errors, firstError, seconds: round(seconds), perSecond: round(done / seconds, 1), latency: latencies.summary() }
}
