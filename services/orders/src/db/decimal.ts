const DECIMAL = /^\d{1,12}(\.\d{1,12})?$/

/**
 * A price as the client sent it (JSON number or string) as an exact decimal
 * string for PostgreSQL to compare, or null when it is not a plain decimal.
 * A JSON number has already been through a float, but 699, 699.0 and 699.00
 * all print as "699", and a price with more than two places never equals a
 * numeric(12,2) price, so the comparison stays exact.
 */
export function toDecimalString (value: string | number): string | null {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value.trim()
  return DECIMAL.test(text) ? text : null
}
