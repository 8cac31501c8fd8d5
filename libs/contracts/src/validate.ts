import { randomUUID } from 'node:crypto'
import { Compile, type Validator } from 'typebox/compile'
import type { TSchema } from 'typebox'
import type { DataOf, EventContract, EventEnvelope, EventOf } from './envelope.js'
import { contractForRoutingKey } from './events.js'

/** One reason a value is not a valid event: a JSON pointer into the value and what is wrong. */
export interface Problem {
  path: string
  message: string
}

export type ValidationResult<E> =
  | { ok: true, event: E }
  | { ok: false, problems: Problem[] }

export interface ValidateOptions {
  /**
   * Also reject properties the contract does not name. Producers validate
   * strictly (a typo never leaves the service); consumers are tolerant
   * readers, so a producer may add a field without breaking them.
   */
  strict?: boolean
}

export class EventValidationError extends Error {
  readonly problems: Problem[]
  constructor (what: string, problems: Problem[]) {
    super(`${what} is not a valid event: ${problems.map((p) => `${p.path === '' ? '/' : p.path} ${p.message}`).join('; ')}`)
    this.name = 'EventValidationError'
    this.problems = problems
  }
}

const validators = new WeakMap<TSchema, Validator>()

function validatorFor (schema: TSchema): Validator {
  let validator = validators.get(schema)
  if (validator === undefined) {
    validator = Compile(schema)
    validators.set(schema, validator)
  }
  return validator
}

function pointer (path: string, key: string): string {
  return `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
}

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** Properties of `value` that the object schemas along the way do not declare. */
function unknownProperties (schema: unknown, value: unknown, path: string, into: Problem[]): void {
  if (!isRecord(schema) || !isRecord(value) || !isRecord(schema.properties)) return
  const properties = schema.properties
  for (const [key, child] of Object.entries(value)) {
    if (!Object.hasOwn(properties, key)) into.push({ path: pointer(path, key), message: 'is not a property of this contract' })
    else unknownProperties(properties[key], child, pointer(path, key), into)
  }
}

/**
 * Checks `value` against a contract (or the contract registered for a routing
 * key): the typed event, or every problem found, each with its path.
 */
export function validateEvent<C extends EventContract> (contract: C, value: unknown, options?: ValidateOptions): ValidationResult<EventOf<C>>
export function validateEvent (routingKey: string, value: unknown, options?: ValidateOptions): ValidationResult<EventEnvelope>
export function validateEvent (target: string | EventContract, value: unknown, options: ValidateOptions = {}): ValidationResult<EventEnvelope> {
  const contract = typeof target === 'string' ? contractForRoutingKey(target) : target
  if (contract === undefined) {
    return { ok: false, problems: [{ path: '', message: `no contract for routing key "${String(target)}"` }] }
  }
  const validator = validatorFor(contract.schema)
  const problems: Problem[] = []
  if (!validator.Check(value)) {
    const seen = new Set<string>()
    for (const error of validator.Errors(value)) {
      const key = `${error.instancePath}\u0000${error.message}`
      if (seen.has(key)) continue
      seen.add(key)
      problems.push({ path: error.instancePath, message: error.message })
    }
    if (problems.length === 0) problems.push({ path: '', message: `does not match ${contract.type} v${contract.version}` })
  }
  if (options.strict === true) unknownProperties(contract.schema, value, '', problems)
  if (problems.length > 0) return { ok: false, problems }
  return { ok: true, event: value as EventEnvelope }
}

/** Throws an `EventValidationError` unless `value` is a valid (strict) event of the contract. */
export function assertEvent<C extends EventContract> (contract: C, value: unknown): EventOf<C> {
  const result = validateEvent(contract, value, { strict: true })
  if (!result.ok) throw new EventValidationError(`${contract.type} v${contract.version}`, result.problems)
  return result.event
}

export interface MakeEventOptions {
  correlationId: string
  /** Defaults to a fresh UUID. */
  id?: string
  /** Defaults to now. */
  occurredAt?: Date | string
}

/**
 * Builds a contract's event around `data` (a new id, the time, the correlation
 * id) and validates it strictly: a bad event never gets as far as the outbox.
 */
export function makeEvent<C extends EventContract> (contract: C, data: DataOf<C>, options: MakeEventOptions): EventOf<C> {
  const occurredAt = options.occurredAt ?? new Date()
  return assertEvent(contract, {
    id: options.id ?? randomUUID(),
    type: contract.type,
    version: contract.version,
    occurred_at: typeof occurredAt === 'string' ? occurredAt : occurredAt.toISOString(),
    correlation_id: options.correlationId,
    data
  })
}
