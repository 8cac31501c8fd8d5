/**
 * What is in each service's database, small enough to compare: per table the
 * row count and an md5 over every row's text (rows sorted by that text, so the
 * order they were read in does not matter). Two snapshots are equal exactly
 * when no row was added, removed or changed.
 */
import { sql, type Kysely } from 'kysely'

/**
 * Tables a rejected request may append to by design, and why. Their rows that
 * existed before must stay as they were; only new rows may appear.
 */
export const APPEND_ONLY: Record<string, { idColumn: string, why: string }> = {
  'payments.webhook_calls': { idColumn: 'id', why: 'docs/DESIGN.md §2.2: every received webhook call is recorded, refused ones included (audit)' }
}

export interface RowsState { rows: number, checksum: string }
export interface TableState extends RowsState {
  /** Append-only tables: the highest id, and the state of the rows up to the previous snapshot's highest id. */
  maxId?: string
  upToPreviousMax?: RowsState
}
export type Snapshot = Record<string, TableState>

async function tablesOf (db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`.execute(db)
  return rows.map((r) => r.name)
}

async function rowsState (db: Kysely<unknown>, table: string, where = sql``): Promise<RowsState> {
  const { rows } = await sql<{ rows: string, checksum: string | null }>`SELECT count(*)::text AS rows, md5(string_agg(t::text, E'\n' ORDER BY t::text)) AS checksum FROM ${sql.table(table)} AS t ${where}`.execute(db)
  return { rows: Number(rows[0]?.rows ?? 0), checksum: rows[0]?.checksum ?? '' }
}

async function tableState (db: Kysely<unknown>, service: string, table: string, previous?: TableState): Promise<TableState> {
  const state: TableState = await rowsState(db, table)
  const appendOnly = APPEND_ONLY[`${service}.${table}`]
  if (appendOnly !== undefined) {
    const id = sql.ref(`t.${appendOnly.idColumn}`)
    const max = await sql<{ max: string | null }>`SELECT max(${id})::text AS max FROM ${sql.table(table)} AS t`.execute(db)
    state.maxId = max.rows[0]?.max ?? '0'
    if (previous?.maxId !== undefined) state.upToPreviousMax = await rowsState(db, table, sql`WHERE ${id} <= ${previous.maxId}`)
  }
  return state
}

/** Every table of every service, keyed `service.table`. */
export async function snapshot (dbs: Record<string, Kysely<unknown>>, before?: Snapshot): Promise<Snapshot> {
  const out: Snapshot = {}
  await Promise.all(Object.entries(dbs).map(async ([service, db]) => {
    await Promise.all((await tablesOf(db)).map(async (table) => {
      const key = `${service}.${table}`
      out[key] = await tableState(db, service, table, before?.[key])
    }))
  }))
  return out
}

/**
 * What differs from `before` (empty when nothing); `after` must have been
 * taken with `snapshot(dbs, before)`. For an append-only table only its rows
 * up to the old highest id are compared, and `appended` says how many were
 * added.
 */
export function differences (before: Snapshot, after: Snapshot): { changed: string[], appended: Record<string, number> } {
  const changed: string[] = []
  const appended: Record<string, number> = {}
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[key]
    const b = after[key]
    if (a === undefined || b === undefined) {
      changed.push(`${key}: table ${a === undefined ? 'appeared' : 'disappeared'}`)
      continue
    }
    if (APPEND_ONLY[key] !== undefined) {
      const old = b.upToPreviousMax
      if (old === undefined) changed.push(`${key}: the second snapshot was not taken after the first`)
      else if (old.rows !== a.rows || old.checksum !== a.checksum) changed.push(`${key}: existing rows changed (${a.rows} → ${old.rows} rows up to id ${a.maxId ?? '?'})`)
      appended[key] = Number(b.maxId ?? 0) - Number(a.maxId ?? 0)
      continue
    }
    if (a.rows !== b.rows) changed.push(`${key}: ${a.rows} → ${b.rows} rows`)
    else if (a.checksum !== b.checksum) changed.push(`${key}: same ${a.rows} rows, contents changed`)
  }
  return { changed, appended }
}
