/**
 * Ajv's errors in a client's words. Ajv says `must match pattern "^\s*-?\d+…"`,
 * `must be equal to constant` and `must match a schema in anyOf`: true, and of
 * no use to someone writing a request. Each issue here becomes one line that
 * says what the field must be (from the schema: its formats, bounds, literals,
 * and its `description` where a pattern alone would say nothing).
 *
 * Why our own: Ajv's localisation packages (ajv-i18n) only translate the same
 * wording, and ajv-errors needs an `errorMessage` in every schema; the
 * schemas already say what each field is.
 */

/** An Ajv error with `verbose: true` (its schema and parent schema). */
export interface ValidationIssue {
  instancePath: string
  schemaPath?: string
  keyword?: string
  message?: string
  params: Record<string, unknown>
  schema?: unknown
  parentSchema?: Record<string, unknown>
}

const FORMATS: Record<string, string> = {
  uuid: 'a UUID such as 9b2f3c1e-6a4d-4c8e-9f1a-2b3c4d5e6f70',
  date: 'a date written YYYY-MM-DD',
  'date-time': 'a date and time such as 2026-12-01T10:00:00Z',
  email: 'an e-mail address',
  uri: 'a URL'
}

const TYPES: Record<string, string> = {
  integer: 'a whole number',
  number: 'a number',
  string: 'text (a JSON string)',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list (a JSON array)',
  null: 'null'
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

/** What one schema accepts, in a few words (for the alternatives of a union). */
function describeSchema (schema: unknown): string {
  const s = (schema ?? {}) as Record<string, unknown>
  if (typeof s.description === 'string' && s.description.length <= 80) return s.description
  if ('const' in s) return JSON.stringify(s.const)
  if (Array.isArray(s.enum)) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`
  if (typeof s.format === 'string' && FORMATS[s.format] !== undefined) return FORMATS[s.format] ?? ''
  const types = [s.type].flat().filter((t): t is string => typeof t === 'string')
  if (types.length > 0) return types.map((t) => TYPES[t] ?? t).join(' or ')
  return 'a valid value'
}

/** The union's alternatives, said as a choice: `"success" or "failed"`, `a number or a decimal string…`. */
function describeAlternatives (alternatives: unknown): string {
  const list = Array.isArray(alternatives) ? alternatives : []
  const literals = list.map((a) => (a as Record<string, unknown> | null)?.const)
  if (list.length > 0 && literals.every((v) => v !== undefined)) {
    const shown = literals.map((v) => JSON.stringify(v))
    return shown.length === 1 ? (shown[0] ?? '') : `${shown.slice(0, -1).join(', ')} or ${shown.at(-1) ?? ''}`
  }
  return list.map(describeSchema).join(', or ')
}

/** One issue's message: what the field must be. */
export function plainMessage (issue: ValidationIssue): string {
  const p = issue.params
  const parent = issue.parentSchema ?? {}
  switch (issue.keyword) {
    case 'additionalProperties': return 'is not an allowed field'
    case 'required': return 'is required'
    case 'type': return `must be ${[p.type].flat().map((t) => TYPES[String(t)] ?? String(t)).join(' or ')}`
    case 'const': return `must be ${JSON.stringify(p.allowedValue)}`
    case 'enum': return `must be one of ${(Array.isArray(p.allowedValues) ? p.allowedValues : []).map((v) => JSON.stringify(v)).join(', ')}`
    case 'anyOf':
    case 'oneOf': return `must be ${describeAlternatives(issue.schema)}`
    case 'format': return `must be ${FORMATS[String(p.format)] ?? `in the ${String(p.format)} format`}`
    case 'pattern': return typeof parent.description === 'string' ? `must be ${parent.description}` : 'is not written in the expected form'
    case 'minLength': return p.limit === 1 ? 'must not be empty' : `must be at least ${plural(Number(p.limit), 'character')}`
    case 'maxLength': return `must be at most ${plural(Number(p.limit), 'character')}`
    case 'minimum': return `must be at least ${String(p.limit)}`
    case 'maximum': return `must be at most ${String(p.limit)}`
    case 'exclusiveMinimum': return `must be more than ${String(p.limit)}`
    case 'exclusiveMaximum': return `must be less than ${String(p.limit)}`
    case 'minItems': return `must have at least ${plural(Number(p.limit), 'item')}`
    case 'maxItems': return `must have at most ${plural(Number(p.limit), 'item')}`
    case 'uniqueItems': return 'must not list the same item twice'
    case 'minProperties': return `must have at least ${plural(Number(p.limit), 'field')}`
    case 'maxProperties': return `must have at most ${plural(Number(p.limit), 'field')}`
    default: return issue.message ?? 'is invalid'
  }
}

/**
 * The issues worth saying: an alternative's own complaints are dropped when
 * the union they belong to speaks for them (`product_price` is one problem,
 * not three), and the same field and message only once.
 */
export function relevantIssues (issues: readonly ValidationIssue[]): ValidationIssue[] {
  const unions = issues.filter((i) => (i.keyword === 'anyOf' || i.keyword === 'oneOf') && typeof i.schemaPath === 'string').map((i) => `${i.schemaPath ?? ''}/`)
  return issues.filter((i) => !unions.some((prefix) => i.schemaPath?.startsWith(prefix) === true))
}
