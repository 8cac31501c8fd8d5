import { HttpError } from '@topup/service-kit'

/** The longest range a summary or an export accepts, in days (both ends included). */
export const MAX_RANGE_DAYS = 366
/** The summary's range when none is given: the last 30 days, today included. */
export const DEFAULT_RANGE_DAYS = 30

const DAY_MS = 86_400_000
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

export interface DateRange {
  /** YYYY-MM-DD, inclusive */
  start: string
  /** YYYY-MM-DD, inclusive */
  end: string
}

type Problem = { field: string, message: string }

/** A YYYY-MM-DD calendar date as the UTC midnight it starts at, or a reason it is not one. */
export function parseDay (text: string): number | string {
  const match = DATE.exec(text)
  if (match === null) return 'must be a date as YYYY-MM-DD'
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const time = Date.UTC(year, month - 1, day)
  const back = new Date(time)
  if (year < 1 || back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) {
    return 'is not a real calendar date'
  }
  return time
}

export function formatDay (time: number): string {
  return new Date(time).toISOString().slice(0, 10)
}

export function addDays (day: string, days: number): string {
  return formatDay(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS)
}

export function daysBetween (start: string, end: string): number {
  return Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / DAY_MS)
}

/**
 * The range of `?start_date=&end_date=`: both optional, YYYY-MM-DD, inclusive,
 * business days (BUSINESS_TIMEZONE's calendar, src/db/business-days.ts). Missing ends fall back to `defaults` (the summary's last 30 days);
 * without defaults a missing end stays open (the exports: all orders).
 * Malformed, impossible, reversed or too long → 400 naming the field.
 */
export function parseRange (query: { start_date?: string | undefined, end_date?: string | undefined }, defaults: { today: string } | null): { start: string | null, end: string | null } {
  const problems: Problem[] = []
  const read = (field: 'start_date' | 'end_date'): string | null => {
    const value = query[field]
    if (value === undefined || value === '') return null
    const parsed = parseDay(value)
    if (typeof parsed === 'string') {
      problems.push({ field, message: parsed })
      return null
    }
    return formatDay(parsed)
  }
  let start = read('start_date')
  let end = read('end_date')
  if (problems.length > 0) throw new HttpError(400, `Invalid ${problems[0]?.field ?? 'date'}: ${problems[0]?.message ?? ''}`, problems)
  if (defaults !== null) {
    if (end === null) end = start === null ? defaults.today : maxDay(defaults.today, start)
    if (start === null) start = addDays(end, -(DEFAULT_RANGE_DAYS - 1))
  }
  if (start !== null && end !== null) {
    if (end < start) throw new HttpError(400, 'Invalid end_date: is before start_date', [{ field: 'end_date', message: 'must not be before start_date' }])
    if (daysBetween(start, end) + 1 > MAX_RANGE_DAYS) {
      throw new HttpError(400, `Invalid end_date: the range is longer than ${MAX_RANGE_DAYS} days`, [{ field: 'end_date', message: `must be at most ${MAX_RANGE_DAYS} days (inclusive) after start_date` }])
    }
  }
  return { start, end }
}

function maxDay (a: string, b: string): string {
  return a > b ? a : b
}

/** Every YYYY-MM month touched by the range, in order. */
export function monthsOf (range: DateRange): string[] {
  const months: string[] = []
  let year = Number(range.start.slice(0, 4))
  let month = Number(range.start.slice(5, 7))
  const last = range.end.slice(0, 7)
  for (;;) {
    const label = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`
    months.push(label)
    if (label >= last) return months
    month++
    if (month > 12) { month = 1; year++ }
  }
}

/** The dashboard's ready-made ranges, each ending today (the business zone's today) but last_month. */
export const PRESETS = ['today', 'last_7_days', 'last_30_days', 'month_to_date', 'last_month'] as const
export type Preset = typeof PRESETS[number]

/** The range a preset names on `today`; anything else → 400 naming `preset`. */
export function presetRange (preset: string, today: string): DateRange {
  switch (preset) {
    case 'today': return { start: today, end: today }
    case 'last_7_days': return { start: addDays(today, -6), end: today }
    case 'last_30_days': return { start: addDays(today, -29), end: today }
    case 'month_to_date': return { start: `${today.slice(0, 7)}-01`, end: today }
    case 'last_month': {
      const end = addDays(`${today.slice(0, 7)}-01`, -1)
      return { start: `${end.slice(0, 7)}-01`, end }
    }
    default:
      throw new HttpError(400, `Invalid preset: must be one of ${PRESETS.join(', ')}`, [{ field: 'preset', message: `must be one of ${PRESETS.join(', ')}` }])
  }
}

/** The period of the same length just before the range: what its figures are compared with. */
export function previousPeriod (range: DateRange): DateRange {
  const days = daysBetween(range.start, range.end) + 1
  return { start: addDays(range.start, -days), end: addDays(range.start, -1) }
}
