import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import pg from 'pg'
import { errorResponses, HttpError, survivePoolClientErrors } from '@topup/service-kit'
import { parseRange } from '../../dates.js'
import { COLUMNS_OF, streamExport, type ExportKind } from '../../db/export.js'
import { RangeQuery } from '../schemas.js'

export interface ExportOptions {
  databaseUrl: string
  /** Exports streaming at once (connections of the export pool). */
  concurrency: number
}

export interface ExportStats {
  /** Exports streaming right now. */
  streaming: number
  pool: { total: number, idle: number, waiting: number }
}

declare module 'fastify' {
  interface FastifyInstance {
    exportStats: () => ExportStats
  }
}

const EXPORTS: Record<ExportKind, { path: string, name: string, summary: string }> = {
  orders: { path: '/api/export/orders/', name: 'orders', summary: 'Every order as CSV, streamed' },
  failures: { path: '/api/export/failures/', name: 'failed_payments', summary: 'Orders whose payment failed, as CSV, streamed: when it failed and which provider said so' }
}

/** The file's name says what is in it: `orders_2026-11-01_2026-11-30.csv`, `orders_from_2026-11-01.csv`, `orders_all.csv`. */
export function exportFilename (name: string, range: { start: string | null, end: string | null }): string {
  if (range.start !== null && range.end !== null) return `${name}_${range.start}_${range.end}.csv`
  if (range.start !== null) return `${name}_from_${range.start}.csv`
  if (range.end !== null) return `${name}_until_${range.end}.csv`
  return `${name}_all.csv`
}

/**
 * The CSV exports. They hold a database connection for as long as the client
 * downloads, so they use a pool of their own: a slow download never takes a
 * connection from the event consumer or the summary.
 */
const exportsPlugin: FastifyPluginAsyncTypebox<ExportOptions> = async (app, options) => {
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.concurrency, connectionTimeoutMillis: 10_000, idleTimeoutMillis: 30_000 })
  pool.on('error', (err) => { app.log.error({ reason: err.message }, 'idle export connection failed') })
  survivePoolClientErrors(pool, app.log)
  let streaming = 0
  app.decorate('exportStats', () => ({ streaming, pool: { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } }))
  app.addHook('onClose', async () => { await pool.end() })
  // a client that went away: its COPY is cancelled from a connection of its own (the pool may be full of exports)
  const cancel = async (pid: number): Promise<void> => {
    const client = new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 10_000 })
    await client.connect()
    try {
      await client.query('SELECT pg_cancel_backend($1)', [pid])
    } finally {
      await client.end()
    }
  }

  for (const [kind, spec] of Object.entries(EXPORTS) as Array<[ExportKind, typeof EXPORTS[ExportKind]]>) {
    app.get(spec.path, {
      onRequest: app.requireStaff,
      schema: {
        tags: ['analytics'],
        summary: spec.summary,
        description: `CSV (RFC 4180, every cell quoted, CRLF) with the header \`${COLUMNS_OF[kind].join(',')}\`, one row per order, oldest first, ` +
          'streamed as it is read. Cells starting with = + - @, a tab or a CR are prefixed with \' (no spreadsheet formulas). ' +
          'Without dates: every order.',
        security: [{ bearerAuth: [] }],
        querystring: RangeQuery('Optional: no date means no bound.'),
        produces: ['text/csv'],
        response: {
          200: {
            description: `an attachment named for its range: \`${exportFilename(spec.name, { start: '2026-11-01', end: '2026-11-30' })}\`, \`${exportFilename(spec.name, { start: null, end: null })}\` without dates`,
            content: { 'text/csv': { schema: Type.String() } }
          },
          ...errorResponses(400, 401, 403, 503)
        }
      }
    }, async (request, reply) => {
      const range = parseRange(request.query, null)
      let client: pg.PoolClient
      try {
        client = await pool.connect()
      } catch (err) {
        request.log.warn({ reason: (err as Error).message }, 'no export connection available')
        throw new HttpError(503, 'Too many exports are running; retry in a moment.')
      }
      streaming++
      let csv: Awaited<ReturnType<typeof streamExport>>
      try {
        csv = await streamExport(client, kind, range, {
          cancel,
          onDone: () => { streaming-- },
          onCancelFailed: (err) => { request.log.warn({ reason: err.message }, 'could not cancel the export of a client that went away') }
        })
      } catch (err) {
        streaming--
        client.release(err as Error)
        throw err
      }
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${exportFilename(spec.name, range)}"`)
        .header('cache-control', 'no-store')
        // the schema documents the body as a CSV string; fastify streams it
        .send(csv as unknown as string)
    })
  }
}

// not encapsulated: app.exportStats is visible to the server's metrics and the tests
export default fp(exportsPlugin, { name: 'exports', dependencies: ['tokens'] })
