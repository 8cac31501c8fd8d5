/**
 * What `npm start` prints: every line prefixed with the process it came from
 * (`orders#2 | …`), its own lines on the `start` prefix, and the services'
 * pino JSON lines made readable by pino-pretty (`INFO: request completed GET
 * /api/games/ → 200 1.2 ms [req-1]`); LOG_FORMAT=json keeps them raw.
 */
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { prettyFactory, type MessageFormatFunc } from 'pino-pretty'

/** ANSI colour of each prefix (the instances of a service share theirs). */
const COLORS: Record<string, number> = { auth: 36, orders: 32, payments: 33, analytics: 35, gateway: 34, start: 1 }
const RED = 31
const BOLD = 1

export interface LogViewOptions {
  /** Width of the prefix column: the longest process name. */
  width: number
  color: boolean
  /** LOG_FORMAT=json: the services' lines as they are. */
  raw: boolean
}

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  value !== null && typeof value === 'object' ? value as Record<string, unknown> : undefined

const text = (value: unknown): string => typeof value === 'string' || typeof value === 'number' ? String(value) : ''

/**
 * The message of a line as pino-pretty shows it, plus what the fields it is
 * told to ignore carried: for the one line a service logs per request
 * ("request completed" with req, res and responseTime) the method, URL,
 * status and time; for an error its type and message, and at error level
 * its stack on the lines below.
 */
const messageFormat: MessageFormatFunc = (log, messageKey, _levelLabel, { colors }) => {
  const parts = [text(log[messageKey])]
  const req = asRecord(log.req)
  const res = asRecord(log.res)
  if (req !== undefined) parts.push(`${text(req.method)} ${text(req.url)}`)
  if (res !== undefined) {
    const time = typeof log.responseTime === 'number' ? ` ${log.responseTime.toFixed(1)} ms` : ''
    parts.push(`→ ${text(res.statusCode)}${time}`)
  }
  if (typeof log.reqId === 'string' && (req !== undefined || res !== undefined)) parts.push(colors.gray(`[${log.reqId}]`))
  const err = asRecord(log.err)
  if (err !== undefined) {
    parts.push(colors.red(`${text(err.type) || 'Error'}: ${text(err.message)}`))
    if (typeof log.level === 'number' && log.level >= 50 && typeof err.stack === 'string') parts.push(`\n${err.stack}`)
  }
  return parts.filter((p) => p !== '').join(' ')
}

export class LogView {
  private readonly pretty: (entry: object) => string

  constructor (private readonly options: LogViewOptions) {
    this.pretty = prettyFactory({
      colorize: options.color,
      // the prefix names the process; the message format shows the request and the error
      ignore: 'time,pid,hostname,service,req,res,responseTime,reqId,err',
      singleLine: true,
      messageFormat
    })
  }

  paint (code: number, message: string): string {
    return this.options.color ? `\u001b[${code}m${message}\u001b[0m` : message
  }

  label (name: string): string {
    return this.paint(COLORS[name.split('#')[0] ?? name] ?? 37, name.padEnd(this.options.width))
  }

  /** A line of the launcher's own on stdout. */
  say (message: string): void {
    process.stdout.write(`${this.label('start')} | ${message}\n`)
  }

  /** A problem of the launcher's own on stderr, in red. */
  complain (message: string): void {
    process.stderr.write(`${this.label('start')} | ${this.paint(RED, message)}\n`)
  }

  bold (message: string): string {
    return this.paint(BOLD, message)
  }

  /** Further lines under a `start` line: indented past the prefix column. */
  indent (lines: readonly string[]): string {
    return lines.map((l) => `${' '.repeat(this.options.width)} | ${l}`).join('\n')
  }

  /** A pino JSON line as pino-pretty shows it (each of its lines); anything else as it is. */
  readable (line: string): string[] {
    if (this.options.raw || !line.startsWith('{')) return [line]
    let entry: unknown
    try {
      entry = JSON.parse(line)
    } catch {
      return [line]
    }
    if (typeof asRecord(entry)?.level !== 'number') return [line]
    return this.pretty(entry as object).replace(/\r?\n$/, '').split('\n')
  }

  /** Copies a child's output line by line, each line prefixed with the process's name. */
  follow (stream: Readable, name: string, out: Writable): void {
    const lines = createInterface({ input: stream, crlfDelay: Infinity })
    lines.on('line', (line) => {
      for (const l of this.readable(line)) out.write(`${this.label(name)} | ${l}\n`)
    })
  }
}
