const UNITS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000
}

/** "1 minute", "30s", "15m", "2 hours", "500" (ms) → milliseconds; undefined when unreadable or zero. */
export function parseDuration (text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  if (match === null) return undefined
  const unit = (match[2] ?? '').toLowerCase()
  const factor = unit === '' ? 1 : UNITS[unit]
  if (factor === undefined) return undefined
  const ms = Math.round(Number(match[1]) * factor)
  return ms > 0 ? ms : undefined
}
