/**
 * The progress line on stderr: one updating line on a terminal
 * (`orders 1234/3000 [=====>   ] 41% · settled 1100 · 95 req/s · eta 18s`),
 * a plain line every 5 s elsewhere. Drawn by cli-progress; this file only
 * says what the line holds.
 */
import { cursorTo, clearLine } from 'node:readline'
// the default import: cli-progress is CommonJS, and Node sees only some of its exports as named ones (not Format)
import cliProgress, { type Options, type Params, type SingleBar } from 'cli-progress'

/** 75 → "1m15s", NaN → "?": durations in the progress line and the summary. */
export function formatSeconds (seconds: number): string {
  if (!Number.isFinite(seconds)) return '?'
  if (seconds < 60) return `${Math.round(seconds)}s`
  return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`
}

interface Phase {
  name: string
  total: number
  extra: () => string
  startedAt: number
  requestsAtStart: number
}

export class Progress {
  private readonly tty: boolean
  private readonly bar: SingleBar
  private phase: Phase | undefined

  /** `requests`: how many requests have been sent so far (the line shows their rate). */
  constructor (private readonly stream: NodeJS.WriteStream, private readonly requests: () => number) {
    this.tty = stream.isTTY === true
    const options: Options = {
      stream,
      format: (opts, params) => this.line(opts, params),
      barsize: 24,
      barCompleteChar: '=',
      barIncompleteChar: ' ',
      barGlue: '>',
      fps: 5,
      // the rate and the eta change while the count does not
      forceRedraw: true,
      // truncated to the terminal's width rather than its wrapping turned off (a demo stopped by force leaves no terminal without wrapping)
      linewrap: true,
      noTTYOutput: true,
      notTTYSchedule: 5_000,
      // stop() leaves the last line on a terminal; elsewhere it is already a line of its own
      clearOnComplete: !this.tty
    }
    this.bar = new cliProgress.SingleBar(options)
  }

  private line (options: Options, params: Params): string {
    const phase = this.phase
    if (phase === undefined) return ''
    const ratio = params.total === 0 ? 1 : Math.min(1, params.value / params.total)
    const elapsed = (Date.now() - phase.startedAt) / 1000
    const rate = elapsed > 0 ? (this.requests() - phase.requestsAtStart) / elapsed : 0
    const eta = params.value > 0 ? elapsed * (params.total - params.value) / params.value : Number.NaN
    const extra = phase.extra()
    return `${phase.name} ${params.value}/${params.total} [${cliProgress.Format.BarFormat(ratio, options)}] ${Math.floor(ratio * 100)}%` +
      `${extra === '' ? '' : ` · ${extra}`} · ${Math.round(rate)} req/s · eta ${formatSeconds(eta)}`
  }

  /** A new phase (ends the one before): `name done/total [bar] … · extra() · req/s · eta`. */
  start (name: string, total: number, extra: () => string = () => ''): void {
    this.stop()
    this.phase = { name, total, extra, startedAt: Date.now(), requestsAtStart: this.requests() }
    this.bar.start(total, 0)
  }

  increment (): void {
    this.bar.increment()
  }

  set (done: number): void {
    this.bar.update(done)
  }

  /** A line of its own above the progress line. */
  note (message: string): void {
    if (this.tty && this.phase !== undefined) {
      clearLine(this.stream, 0)
      cursorTo(this.stream, 0)
      // cli-progress returns to the line it started on when it stops (ESC 7 / ESC 8): that line is now this note's, so the bar's new line is saved instead
      this.stream.write(`${message}\n\u001b7`)
    } else {
      this.stream.write(`${message}\n`)
    }
  }

  /** Ends the phase with its last line. */
  stop (): void {
    if (this.phase === undefined) return
    this.bar.stop()
    this.phase = undefined
  }
}
