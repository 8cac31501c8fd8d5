import { Type } from 'typebox'

const DateParam = (description: string) => Type.String({ description, examples: ['2026-11-01'], maxLength: 32 })

/** `?start_date=&end_date=`: checked by `parseRange` so each problem names its field and reason. */
export const RangeQuery = (what: string) => Type.Object({
  start_date: Type.Optional(DateParam(`First day, YYYY-MM-DD (a day of the shop's business time zone), inclusive. ${what}`)),
  end_date: Type.Optional(DateParam(`Last day, YYYY-MM-DD (a business day), inclusive. ${what}`))
})
