import t from 'tap'
import fc from 'fast-check'
import { createRequire } from 'node:module'
import { get } from 'node:http'
import type { AddressInfo } from 'node:net'
import pg from 'pg'
import { sql } from 'kysely'
import { CopyExport, CSV_HEADER, csvCell, csvLine, CsvConverter, EXPORT_COLUMNS, neutralise } from '../src/db/export.js'
import { build } from './helper.js'

/**
 * The export's bytes must not change with its implementation: the CSV the
 * service wrote with csv-writer (alwaysQuote, CRLF, its old formula rule) is
 * the reference for `csvLine`, and `csvLine` the reference for what the
 * export makes of PostgreSQL's COPY output (CsvConverter), on tricky values.
 */

// the export's formatting as it was (services/analytics/src/db/export.ts before the COPY rewrite)
interface ObjectCsvStringifier {
  getHeaderString: () => string
  stringifyRecords: (records: ReadonlyArray<Record<string, string>>) => string
}
const { createObjectCsvStringifier } = createRequire(import.meta.url)('csv-writer') as {
  createObjectCsvStringifier: (params: { header: Array<{ id: string, title: string }>, alwaysQuote?: boolean, recordDelimiter?: string }) => ObjectCsvStringifier
}
const OLD_FORMULA_START = /^[=+\-@\t\r]/
const oldNeutralise = (value: string): string => OLD_FORMULA_START.test(value) ? `'${value}` : value
const oldStringifier = createObjectCsvStringifier({ header: EXPORT_COLUMNS.map((id) => ({ id, title: id })), alwaysQuote: true, recordDelimiter: '\r\n' })
function oldLine (cells: ReadonlyArray<string | null>): string {
  const record: Record<string, string> = {}
  EXPORT_COLUMNS.forEach((column, i) => { record[column] = oldNeutralise(cells[i] ?? '') })
  return oldStringifier.stringifyRecords([record])
}

/** Values that exercise every rule: quotes, delimiters, line breaks, formula starts, non-ASCII, empty. */
const TRICKY = ['', '"', '""', '"a"', 'a"b', ',', 'a,b', '\n', 'a\nb', '\r', 'a\r\nb', '\r\n', '=1+1', '+1', '-5 gems', '@home', '\tTab', '\rCR',
  '=HYPERLINK("x")', "'quoted", ' =not first', 'plain', 'é', 'ünïcödé', '日本語', '🎮 pack', '💎', '\u2028', '-', '=', ' ']
const cell = fc.oneof(
  fc.constantFrom(...TRICKY),
  fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', '"', ',', '\n', '\r', '\t', '=', '+', '-', '@', "'", 'é', '日', '🎮') }),
  fc.string({ unit: 'grapheme' }),
  fc.string()
).filter((s) => !s.includes('\u0000'))
const row = fc.array(fc.option(cell, { nil: null, freq: 8 }), { minLength: EXPORT_COLUMNS.length, maxLength: EXPORT_COLUMNS.length })

t.test('csvLine writes exactly what csv-writer wrote, header included', async (t) => {
  t.equal(CSV_HEADER, oldStringifier.getHeaderString(), 'the header')
  // (names by index: some values would garble TAP's lines)
  TRICKY.forEach((value, i) => { t.equal(csvLine(Array(9).fill(value)), oldLine(Array(9).fill(value)), `tricky value #${i} in every column`) })
  fc.assert(fc.property(row, (cells) => csvLine(cells) === oldLine(cells)), { numRuns: 5000 })
  // the formula rule: every first character, the old regex and the new table agree
  for (let code = 0; code < 0x10000; code++) {
    const value = `${String.fromCharCode(code)}x`
    if (neutralise(value) !== oldNeutralise(value)) t.fail(`first character U+${code.toString(16)}`)
  }
  t.equal(neutralise(''), '', 'an empty cell stays empty')
  t.equal(csvCell(null), '', 'NULL is an empty cell')
})

/** What PostgreSQL's COPY (FORMAT csv, FORCE_QUOTE *) writes for these rows, as CsvExport gets it, and what the export makes of it. */
async function throughCopy (client: pg.Client, rows: Array<Array<string | null>>): Promise<{ raw: Buffer, converted: string }> {
  await client.query('DROP TABLE IF EXISTS copy_cells')
  await client.query(`CREATE TEMP TABLE copy_cells (i int, ${EXPORT_COLUMNS.map((c) => `${c} text`).join(', ')})`)
  await client.query(`INSERT INTO copy_cells SELECT * FROM unnest($1::int[], ${EXPORT_COLUMNS.map((_, k) => `$${k + 2}::text[]`).join(', ')})`,
    [rows.map((_, i) => i), ...EXPORT_COLUMNS.map((_, k) => rows.map((r) => r[k] ?? null))])
  const select = `SELECT ${EXPORT_COLUMNS.join(', ')} FROM copy_cells ORDER BY i`
  const raw: Buffer[] = []
  const chunks: Buffer[] = []
  const copy = new CopyExport(`COPY (${select}) TO STDOUT WITH (FORMAT csv, FORCE_QUOTE *)`, { onSettled: () => {}, onAbort: () => {} })
  const original = copy.handleCopyData.bind(copy)
  copy.handleCopyData = (message) => { raw.push(Buffer.from(message.chunk)); original(message) }
  client.query(copy)
  for await (const chunk of copy) chunks.push(chunk as Buffer)
  return { raw: Buffer.concat(raw), converted: Buffer.concat(chunks).toString('utf8') }
}

t.test('PostgreSQL\'s COPY converted by CsvConverter equals csvLine, on tricky values and NULLs', async (t) => {
  const h = await build(t)
  const client = new pg.Client({ connectionString: h.databaseUrl })
  await client.connect()
  t.teardown(async () => { await client.end() })

  const fixed: Array<Array<string | null>> = [
    ...TRICKY.map((v) => Array(9).fill(v)),
    [null, null, null, null, null, null, null, null, null],
    ['', null, '', null, '', null, '', null, ''],
    ['"', '""', '"""', '=', '"=', '\n', '\r', '\t', ''],
    ['🎮 =pack', '=🎮', 'é,"é"', 'a\n\nb', '""x', 'x""', '",', ',"', '\r\n']
  ]
  const fixedOut = await throughCopy(client, fixed)
  t.equal(fixedOut.converted, CSV_HEADER + fixed.map(csvLine).join(''), 'fixed rows: byte for byte')

  let runs = 0
  await fc.assert(fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 30 }), async (rows) => {
    runs++
    const { raw, converted } = await throughCopy(client, rows)
    const expected = CSV_HEADER + rows.map(csvLine).join('')
    if (converted !== expected) return false
    // and the same bytes whatever the chunks PostgreSQL's bytes arrive in
    const cuts = [...new Set([0, raw.length, ...Array.from({ length: 5 }, () => Math.floor(Math.random() * raw.length))])].sort((a, b) => a - b)
    const converter = new CsvConverter()
    const out = Buffer.alloc(3 * raw.length + 3)
    let pos = 0
    for (let k = 1; k < cuts.length; k++) pos = converter.convert(raw.subarray(cuts[k - 1], cuts[k]), out, pos)
    return converter.betweenRows && CSV_HEADER + out.subarray(0, pos).toString('utf8') === expected
  }), { numRuns: 150 })
  t.ok(runs >= 150, `${runs} random batches of rows through COPY`)

  t.throws(() => new CsvConverter().convert(Buffer.from('x,"y"\n'), Buffer.alloc(32), 0), /unexpected byte/, 'an unquoted value (not what COPY with FORCE_QUOTE writes) is refused')
})

t.test('the export over HTTP: every tricky value as the old formatting wrote it', async (t) => {
  const h = await build(t)
  const values = TRICKY.filter((v) => v !== '')
  // e-mail, game, product, currency from the tricky values; the rest fixed-format
  await sql`
    INSERT INTO order_facts (order_id, transaction_id, user_id, user_email, game_id, game_code, game_name, product_id, product_name, amount, currency, status, created_at)
    SELECT ('00000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, gen_random_uuid(), gen_random_uuid(),
           v, 1, 'g', v || ' game', 2, '=' || v, (i * 1.5)::numeric(12,2), v, 'success', timestamptz '2026-03-01' + i * interval '1.5 seconds'
      FROM unnest(${values}::text[]) WITH ORDINALITY AS x(v, i)`.execute(h.app.db)
  // an empty e-mail and product name: empty cells, not ""
  await sql`
    INSERT INTO order_facts (order_id, transaction_id, user_id, user_email, game_id, game_code, game_name, product_id, product_name, amount, currency, status, created_at)
    VALUES ('00000000-0000-4000-8000-ffffffffffff', gen_random_uuid(), gen_random_uuid(), '', 1, 'g', 'G', 2, '', 0, 'INR', 'failed', '2026-03-02T00:00:00Z')`.execute(h.app.db)
  const rows = await sql<{ cells: Array<string | null> }>`
    SELECT ARRAY[order_id::text, transaction_id::text, user_email, game_name, product_name, amount::text, currency, status,
                 to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')] AS cells
      FROM order_facts ORDER BY created_at, order_id`.execute(h.app.db)
  await h.app.listen({ port: 0, host: '127.0.0.1' })
  const port = (h.app.server.address() as AddressInfo).port
  const body = await new Promise<Buffer>((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/api/export/orders/', headers: h.staff() }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve(Buffer.concat(chunks)) })
    }).on('error', reject)
  })
  const old = oldStringifier.getHeaderString() + rows.rows.map((r) => oldLine(r.cells)).join('')
  t.equal(rows.rows.length, values.length + 1)
  t.ok(body.equals(Buffer.from(old, 'utf8')), 'the body is byte for byte what csv-writer wrote for the same rows')
  t.ok(body.includes(Buffer.from(',,', 'utf8')), 'empty cells are empty')
  t.ok(body.includes(Buffer.from('"\'=🎮 pack"', 'utf8')), 'neutralised, multi-byte characters intact')
})
