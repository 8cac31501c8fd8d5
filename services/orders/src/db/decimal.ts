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

/** One spelling per value ("699", "699.0" and "699.00" are all "699"), for comparing requests. */
export function canonicalDecimal (decimal: string): string {
  const [whole = '0', fraction = ''] = decimal.split('.')
  const digits = whole.replace(/^0+(?=\d)/, '')
  const cents = fraction.replace(/0+$/, '')
  return cents === '' ? digits : `${digits}.${cents}`
}

const PRICE_LITERAL = /"product_price"\s*:\s*(-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/g

/**
 * A JSON number has been through a float by the time the body is parsed
 * (698.9999999999999999 becomes 699). To compare the price exactly, the
 * number is replaced by its text as the client wrote it; if that text cannot
 * be found unambiguously, by a value that fails validation.
 */
export function keepPriceLiteral (raw: string, parsed: unknown): unknown {
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return parsed
  const body = parsed as Record<string, unknown>
  if (typeof body.product_price !== 'number') return parsed
  const literals = [...raw.matchAll(PRICE_LITERAL)].map((m) => m[1])
  body.product_price = literals.length === 1 ? literals[0] : 'an ambiguous number'
  return parsed
}
