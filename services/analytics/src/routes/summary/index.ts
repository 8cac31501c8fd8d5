import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses } from '@topup/service-kit'
import { formatDay, parseRange } from '../../dates.js'
import { readSummary } from '../../db/summary.js'
import { RangeQuery } from '../schemas.js'
import { SummaryResponse } from './schemas.js'

export interface SummaryOptions {
  currency: string
  now: () => Date
}

const summary: FastifyPluginAsyncTypebox<SummaryOptions> = async (app, options) => {
  app.get('/api/analytics/summary/', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['analytics'],
      summary: 'The dashboard\'s figures for a date range (default: the last 30 days, UTC)',
      description: 'Read from the per-day aggregates only. Dates are YYYY-MM-DD (UTC), both inclusive, at most 366 days apart. ' +
        'A missing start_date is 29 days before end_date; a missing end_date is today (or start_date when later).',
      security: [{ bearerAuth: [] }],
      querystring: RangeQuery('Default: the last 30 days.'),
      response: { 200: SummaryResponse, ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request) => {
    const today = formatDay(options.now().getTime())
    const { start, end } = parseRange(request.query, { today })
    if (start === null || end === null) throw new Error('a defaulted range has both ends')
    return await readSummary(app.db, { start, end }, { today, currency: options.currency })
  })
}

export default summary
