import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { errorResponses, HttpError } from '@topup/service-kit'
import { Type } from 'typebox'
import { parseRange, presetRange, PRESETS } from '../../dates.js'
import { dayIn } from '../../db/business-days.js'
import { readSummary } from '../../db/summary.js'
import { RangeQuery } from '../schemas.js'
import { SummaryResponse } from './schemas.js'

export interface SummaryOptions {
  currency: string
  /** BUSINESS_TIMEZONE: "today" and every day of the range are its calendar days. */
  timezone: string
  now: () => Date
}

const SummaryQuery = Type.Object({
  ...RangeQuery('Default: the last 30 days.').properties,
  preset: Type.Optional(Type.String({ maxLength: 32, description: `A ready-made range ending today (last_month: the previous calendar month), instead of start_date/end_date: ${PRESETS.join(', ')}`, examples: ['last_7_days'] }))
})

const summary: FastifyPluginAsyncTypebox<SummaryOptions> = async (app, options) => {
  app.get('/api/analytics/summary/', {
    onRequest: app.requireStaff,
    schema: {
      tags: ['analytics'],
      summary: 'The dashboard\'s figures for a date range (default: the last 30 days), with the previous period of the same length',
      description: 'Dates are YYYY-MM-DD days of the shop\'s business time zone (given in the response as `timezone`), both inclusive, at most 366 days apart. ' +
        'A missing start_date is 29 days before end_date; a missing end_date is today (or start_date when later). `preset` replaces both.',
      security: [{ bearerAuth: [] }],
      querystring: SummaryQuery,
      response: { 200: SummaryResponse, ...errorResponses(400, 401, 403, 503) }
    }
  }, async (request) => {
    const today = dayIn(options.now(), options.timezone)
    const { preset, ...dates } = request.query
    let range: { start: string | null, end: string | null }
    if (preset !== undefined && preset !== '') {
      if ((dates.start_date ?? '') !== '' || (dates.end_date ?? '') !== '') {
        throw new HttpError(400, 'Invalid preset: cannot be combined with start_date or end_date', [{ field: 'preset', message: 'cannot be combined with start_date or end_date' }])
      }
      range = presetRange(preset, today)
    } else {
      range = parseRange(dates, { today })
    }
    const { start, end } = range
    if (start === null || end === null) throw new Error('a defaulted range has both ends')
    return await readSummary(app.db, { start, end }, { today, currency: options.currency, timezone: options.timezone })
  })
}

export default summary
