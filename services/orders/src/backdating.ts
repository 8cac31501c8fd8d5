/**
 * Backdated orders (development only): `X-Demo-Created-At` on POST /api/topup/
 * sets the order's created_at, so `npm run demo` can fill weeks of history
 * through the real pipeline. The orders config decides whether it is honoured
 * (DEMO_BACKDATING; never in production).
 */

export const BACKDATING_HEADER = 'x-demo-created-at'
export const MAX_BACKDATING_DAYS = 400

export const BACKDATING_IN_PRODUCTION = 'Backdating is not available in production.'
export const BACKDATING_DISABLED = 'Backdating is disabled on this server (DEMO_BACKDATING=false).'

const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/i

function daysInMonth (year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate()
}

/**
 * The instant a backdating header names, or why it is refused. Accepted: an
 * ISO-8601 date (midnight UTC) or date-time with a time zone (Z or ±hh:mm),
 * not in the future and at most MAX_BACKDATING_DAYS old.
 */
export function parseBackdating (value: string, now: Date): { at: Date } | { problem: string } {
  const match = ISO_8601.exec(value.trim())
  if (match === null) return { problem: 'must be an ISO-8601 date-time with a time zone, e.g. 2026-01-31T18:05:00Z' }
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = match
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    return { problem: 'is not a valid date' }
  }
  const at = new Date(match[4] === undefined ? `${value.trim()}T00:00:00Z` : value.trim().replace(' ', 'T'))
  if (Number.isNaN(at.getTime())) return { problem: 'is not a valid date' }
  if (at.getTime() > now.getTime()) return { problem: 'must not be in the future' }
  if (now.getTime() - at.getTime() > MAX_BACKDATING_DAYS * 86_400_000) return { problem: `must not be more than ${MAX_BACKDATING_DAYS} days in the past` }
  return { at }
}
