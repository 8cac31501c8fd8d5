/**
 * What the benchmark prints while it works: one line per step, and while a
 * step runs, its progress (the same line redrawn on a terminal, a line every
 * few seconds otherwise, so a CI log stays short).
 *
 * Plain lines, hand-written: no maintained progress library is installed
 * (cli-progress is not in node_modules; `progress` 2.0.3 is only autocannon's
 * own dependency, unmaintained since 2019), and a bar needs a known total,
 * which most steps here (drains, loads, timed runs) do not have.
 */

const TTY = process.stdout.isTTY === true
const NON_TTY_EVERY_MS = 5_000

const started = Date.now()
let live = false
let lastPrinted = 0

function stamp (): string {
  return `[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s]`
}

function clearLive (): void {
  if (live) process.stdout.write('\r\u001b[2K')
  live = false
}

/** A step, or a result line: always printed, on its own line. */
export function say (message: string): void {
  clearLive()
  process.stdout.write(`${stamp()} ${message}\n`)
}

/** A warning: on stderr, never redrawn. */
export function warn (message: string): void {
  clearLive()
  process.stderr.write(`${stamp()} WARNING: ${message}\n`)
}

/** The state of the step running now: redrawn in place on a terminal, else printed every few seconds. */
export function status (message: string): void {
  if (TTY) {
    process.stdout.write(`\r\u001b[2K${stamp()}   … ${message}`)
    live = true
    return
  }
  if (Date.now() - lastPrinted < NON_TTY_EVERY_MS) return
  lastPrinted = Date.now()
  process.stdout.write(`${stamp()}   … ${message}\n`)
}

/** Seconds since the benchmark started. */
export function elapsedSeconds (): number {
  return (Date.now() - started) / 1000
}
