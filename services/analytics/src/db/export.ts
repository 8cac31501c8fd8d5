import { Readable } from 'node:stream'
import type pg from 'pg'

/**
 * CSV exports: `COPY (the export's query) TO STDOUT (FORMAT csv, FORCE_QUOTE *)`
 * on a connection of the export pool, PostgreSQL's CSV converted byte by byte
 * into the export's own (`CsvConverter`) and streamed. Memory stays flat: when
 * the client reads slower than PostgreSQL writes, the connection's socket is
 * paused, so PostgreSQL waits; a client that goes away cancels the COPY
 * (pg_cancel_backend), and the connection goes back to the pool.
 *
 * Why COPY, after two rounds of profiles (scripts/profile-export.mjs, 300 000
 * rows, beside psql \copy of the same rows on this 2-core machine):
 * - as shipped (a cursor of row objects, csv-writer per row, a Transform and a
 *   socket write per row): 0.2 × psql. csv-writer's per-row path
 *   (`stringifyRecords([row])`, map/join, a regex replace per cell) was 14 %
 *   of the samples and the per-row stream machinery ~20 %;
 * - with those gone (the cursor read in batches as arrays, `csvLine` below,
 *   one chunk per batch): 0.5 × psql, and then node-postgres decoding each
 *   row's nine fields into strings (pg-protocol's parseDataRowMessage and
 *   Buffer#utf8Slice) was half of the export's CPU, more than PostgreSQL's
 *   own for the whole COPY. Bigger batches were slower (more GC), not faster;
 * - COPY sends the rows already quoted; converting bytes to bytes never makes
 *   a string, at about psql's speed.
 * The cell rules stay here, in TypeScript: `neutralise`/`csvCell`/`csvLine`
 * define the format (RFC 4180 as csv-writer's `alwaysQuote` wrote it: every
 * non-empty cell quoted, quotes doubled, an empty or NULL cell empty, CRLF;
 * cells starting with = + - @ TAB CR prefixed with '), and the tests check
 * that the converter's bytes equal `csvLine`'s (and csvLine csv-writer's) on
 * tricky values.
 */

export type ExportKind = 'orders' | 'failures'

export const EXPORT_COLUMNS = ['order_id', 'transaction_id', 'user_email', 'game', 'product', 'amount', 'currency', 'status', 'created_at'] as const

/** The characters that make a spreadsheet read a cell as a formula when it starts with one: = + - @ TAB CR. */
const FORMULA_START = new Uint8Array(128)
for (const c of '=+-@\t\r') FORMULA_START[c.charCodeAt(0)] = 1

/** Cells a spreadsheet would read as a formula (or that start with a tab/CR): prefixed with a quote so they stay text. */
export function neutralise (value: string): string {
  return FORMULA_START[value.charCodeAt(0)] === 1 ? `'${value}` : value
}

/** One cell: neutralised, then quoted with its quotes doubled; NULL and '' stay empty (as csv-writer wrote them). */
export function csvCell (value: string | null): string {
  if (value === null || value === '') return ''
  const text = neutralise(value)
  return text.includes('"') ? `"${text.replaceAll('"', '""')}"` : `"${text}"`
}

/** One row (the cells in EXPORT_COLUMNS order) and its CRLF. */
export function csvLine (cells: ReadonlyArray<string | null>): string {
  let line = csvCell(cells[0] ?? null)
  for (let i = 1; i < cells.length; i++) line += `,${csvCell(cells[i] ?? null)}`
  return `${line}\r\n`
}

export const CSV_HEADER = csvLine(EXPORT_COLUMNS)

/** The failures export: the orders' columns, then when the payment failed and which provider said so. */
export const FAILURE_COLUMNS = [...EXPORT_COLUMNS, 'failed_at', 'provider'] as const

/** Each export's columns, in order. */
export const COLUMNS_OF: Record<ExportKind, readonly string[]> = { orders: EXPORT_COLUMNS, failures: FAILURE_COLUMNS }

const QUOTE = 0x22
const COMMA = 0x2c
const LF = 0x0a
const CR = 0x0d
const APOSTROPHE = 0x27

/** Where the converter is in PostgreSQL's CSV: */
/** before a cell: '"' opens a value, ',' or LF end a NULL cell */
const CELL_START = 0
/** just after the opening quote, nothing written yet (an empty value or a formula decides what to write) */
const OPENED = 1
/** after two quotes at the start: '""' then ',' or LF is an empty value, '"""' a value starting with a quote */
const OPENED_QUOTE = 2
/** inside a value */
const INSIDE = 3
/** after a quote inside a value: another quote is an escaped quote, ',' or LF end the value */
const QUOTE_INSIDE = 4

/**
 * PostgreSQL's CSV (`FORMAT csv, FORCE_QUOTE *`, no header: every non-NULL
 * value quoted with its quotes doubled, NULL empty, rows ending in LF) into
 * the export's: the same cells, except that an empty value is empty instead
 * of `""`, a value starting with = + - @ TAB CR gets its ' after the opening
 * quote, and rows end in CRLF. Byte by byte (the characters that matter are
 * ASCII; UTF-8 never repeats them inside a multi-byte character), across any
 * chunk boundaries.
 */
export class CsvConverter {
  private at = CELL_START

  /** True between rows: what was converted so far is whole rows. */
  get betweenRows (): boolean {
    return this.at === CELL_START
  }

  /** Converts `input` into `out` from `pos`; returns the new position. `out` needs 3 bytes of room per input byte. */
  convert (input: Uint8Array, out: Uint8Array, pos: number): number {
    let at = this.at
    let p = pos
    for (let i = 0; i < input.length; i++) {
      const b = input[i] as number
      switch (at) {
        case INSIDE:
          if (b === QUOTE) at = QUOTE_INSIDE
          else out[p++] = b
          break
        case QUOTE_INSIDE:
          if (b === QUOTE) {
            out[p++] = QUOTE
            out[p++] = QUOTE
            at = INSIDE
          } else {
            out[p++] = QUOTE
            p = endCell(b, out, p)
            at = CELL_START
          }
          break
        case CELL_START:
          if (b === QUOTE) at = OPENED
          else p = endCell(b, out, p)
          break
        case OPENED:
          if (b === QUOTE) {
            at = OPENED_QUOTE
          } else {
            out[p++] = QUOTE
            if (b < 128 && FORMULA_START[b] === 1) out[p++] = APOSTROPHE
            out[p++] = b
            at = INSIDE
          }
          break
        case OPENED_QUOTE:
          if (b === QUOTE) {
            // the value starts with an escaped quote (not a formula character)
            out[p++] = QUOTE
            out[p++] = QUOTE
            out[p++] = QUOTE
            at = INSIDE
          } else {
            // '""': an empty value, written empty
            p = endCell(b, out, p)
            at = CELL_START
          }
          break
      }
    }
    this.at = at
    return p
  }
}

/** The byte after a cell: the delimiter, or the end of the row (CRLF). */
function endCell (b: number, out: Uint8Array, p: number): number {
  if (b === COMMA) {
    out[p] = COMMA
    return p + 1
  }
  if (b === LF) {
    out[p] = CR
    out[p + 1] = LF
    return p + 2
  }
  throw new Error(`unexpected byte ${b} after a CSV cell from COPY`)
}

/** Converted bytes handed to the socket at a time. */
const CHUNK_BYTES = 64 * 1024

/**
 * The export as a pg query (a Submittable: node-postgres hands it the COPY's
 * messages) and a byte stream of the export's CSV, header first.
 */
export class CopyExport extends Readable implements pg.Submittable {
  private connection: pg.Connection | undefined
  private readonly converter = new CsvConverter()
  private out = Buffer.allocUnsafe(CHUNK_BYTES * 2)
  private pos = 0
  private paused = false
  private settled = false

  /**
   * `onSettled` once PostgreSQL is done with the COPY (the connection can be
   * reused, or `error` says why not); `onAbort` when the reader went away
   * before that (the caller cancels the COPY).
   */
  constructor (private readonly command: string, private readonly hooks: { onSettled: (error?: Error) => void, onAbort: () => void }, header: string = CSV_HEADER) {
    super({ highWaterMark: 4 * CHUNK_BYTES })
    this.push(Buffer.from(header))
  }

  submit (connection: pg.Connection): void {
    this.connection = connection
    connection.query(this.command)
  }

  handleCopyData (message: { chunk: Buffer }): void {
    // after an abort the rest of the COPY is read and dropped until the cancel lands
    if (this.destroyed) return
    const chunk = message.chunk
    if (this.out.length - this.pos < 3 * chunk.length) {
      this.flush()
      if (this.out.length < 3 * chunk.length) this.out = Buffer.allocUnsafe(3 * chunk.length)
    }
    try {
      this.pos = this.converter.convert(chunk, this.out, this.pos)
    } catch (err) {
      this.destroy(err as Error)
      return
    }
    if (this.pos >= CHUNK_BYTES) this.flush()
  }

  handleCommandComplete (): void {}

  handleReadyForQuery (): void {
    if (this.settled) return
    this.settled = true
    if (!this.destroyed) {
      this.flush()
      if (this.converter.betweenRows) this.push(null)
      else this.destroy(new Error('the COPY ended inside a row'))
    }
    this.hooks.onSettled()
  }

  handleError (error: Error): void {
    if (this.settled) return
    this.settled = true
    if (!this.destroyed) this.destroy(error)
    this.hooks.onSettled(error)
  }

  override _read (): void {
    this.resumeSocket()
  }

  override _destroy (error: Error | null, callback: (error?: Error | null) => void): void {
    // keep reading (and dropping) so PostgreSQL is not left blocked on a full socket, and can take the cancel
    this.resumeSocket()
    if (!this.settled) this.hooks.onAbort()
    callback(error)
  }

  private resumeSocket (): void {
    if (this.paused) {
      this.paused = false
      this.connection?.stream.resume()
    }
  }

  /** Hands the converted bytes on; a full buffer pauses the connection's socket (PostgreSQL then waits). */
  private flush (): void {
    if (this.pos === 0) return
    const chunk = this.out.subarray(0, this.pos)
    this.out = Buffer.allocUnsafe(CHUNK_BYTES * 2)
    this.pos = 0
    if (!this.push(chunk) && !this.paused && this.connection !== undefined) {
      this.paused = true
      this.connection.stream.pause()
    }
  }
}

/** The export's query, with `$n` parameters: complete orders (a payment result still waiting for its order is not an order yet), oldest first. */
export function exportQuery (kind: ExportKind, range: { start: string | null, end: string | null }): { text: string, values: string[] } {
  const values: string[] = []
  const text = exportSelect(kind, range, (value) => {
    values.push(value)
    return `$${values.length}`
  })
  return { text, values }
}

/** The COPY of the export's query (COPY takes no parameters: the dates, YYYY-MM-DD already, are quoted by node-postgres). */
export function exportCopy (kind: ExportKind, range: { start: string | null, end: string | null }, escapeLiteral: (value: string) => string): string {
  return `COPY (${exportSelect(kind, range, escapeLiteral)}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)`
}

function exportSelect (kind: ExportKind, range: { start: string | null, end: string | null }, value: (value: string) => string): string {
  const where = ['created_at IS NOT NULL']
  if (kind === 'failures') where.push('status = \'failed\'')
  // the range's days are business days, in the zone the aggregates are keyed by (src/db/business-days.ts):
  // the export of a day has the orders the summary counts on it
  const zone = '(SELECT business_timezone FROM read_model_settings)'
  if (range.start !== null) where.push(`created_at >= ${value(range.start)}::date::timestamp AT TIME ZONE ${zone}`)
  if (range.end !== null) where.push(`created_at < (${value(range.end)}::date + 1)::timestamp AT TIME ZONE ${zone}`)
  // ORDER BY the table's columns: the output names shadow them, and `ORDER BY created_at, order_id` sorted the
  // formatted text (every row sorted before the first was sent) instead of reading the (created_at, order_id) index
  // the failures: when the payment failed and the provider of the result that failed it (the
  // timeline's applied change; an index on order_status_changes(order_id, …) makes it one probe a row)
  const failure = kind === 'failures'
    ? `, to_char(settled_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS failed_at,
    (SELECT c.provider FROM order_status_changes c WHERE c.order_id = order_facts.order_id AND c.status = 'failed' AND c.applied
      ORDER BY c.occurred_at DESC, c.id DESC LIMIT 1) AS provider`
    : ''
  return `SELECT order_id::text AS order_id, transaction_id::text AS transaction_id, user_email,
    game_name AS game, product_name AS product, amount::text AS amount, currency, status,
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS created_at${failure}
    FROM order_facts WHERE ${where.join(' AND ')} ORDER BY order_facts.created_at, order_facts.order_id`
}

/**
 * Starts an export on a client of the export pool: returns the CSV stream to
 * send. The client goes back to the pool once PostgreSQL is done with the
 * COPY (ended, failed, or cancelled because the reader went away), and is
 * discarded if it failed for another reason than that cancel. `cancel` asks
 * PostgreSQL to stop the backend with the given pid (another connection).
 */
export async function streamExport (client: pg.PoolClient, kind: ExportKind, range: { start: string | null, end: string | null },
  options: { cancel: (pid: number) => Promise<void>, onDone?: () => void, onCancelFailed?: (err: Error) => void }): Promise<CopyExport> {
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? 0
  let aborted = false
  const copy = new CopyExport(exportCopy(kind, range, (value) => client.escapeLiteral(value)), {
    onSettled: (error) => {
      // the cancel of an abandoned export ends it with query_canceled: the connection is fine
      const cancelled = aborted && (error as { code?: string } | undefined)?.code === '57014'
      client.release(error === undefined || cancelled ? undefined : error)
      options.onDone?.()
    },
    onAbort: () => {
      aborted = true
      options.cancel(pid).catch((err: Error) => { options.onCancelFailed?.(err) })
    }
  }, csvLine(COLUMNS_OF[kind]))
  client.query(copy)
  return copy
}
