import { Type, type Static, type TSchema } from 'typebox'

/** Decimal money with two places, e.g. "699.00" (never a float). */
export const Money = Type.String({ pattern: '^\\d+\\.\\d{2}$', description: 'decimal string with two places' })
/** ISO 4217 code, e.g. "INR". */
export const Currency = Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217 currency code' })
export const Uuid = Type.String({ format: 'uuid' })
export const Timestamp = Type.String({ format: 'date-time', description: 'ISO-8601 date-time' })

/**
 * One event contract: the envelope's `type` and `version`, the routing key it
 * travels under and the TypeBox schema of its `data`. A change that breaks a
 * consumer is a new contract (new version, new routing key), never an edit.
 */
export interface EventContract<
  Type extends string = string,
  Version extends number = number,
  Data extends TSchema = TSchema,
  RoutingKey extends string = string
> {
  readonly type: Type
  readonly version: Version
  readonly routingKey: RoutingKey
  readonly data: Data
  /** The whole envelope's schema (type and version fixed to this contract). */
  readonly schema: TSchema
}

/** The envelope every event travels in (docs/DESIGN.md §3). */
export interface EventEnvelope<Type extends string = string, Version extends number = number, Data = unknown> {
  id: string
  type: Type
  version: Version
  occurred_at: string
  correlation_id: string
  data: Data
}

/** The typed event of a contract. */
export type EventOf<C extends EventContract> =
  C extends EventContract<infer T, infer V, infer D, string> ? EventEnvelope<T, V, Static<D>> : never

/** The `data` of a contract's event. */
export type DataOf<C extends EventContract> = EventOf<C>['data']

export function envelopeSchema (type: string, version: number, data: TSchema): TSchema {
  return Type.Object({
    id: Uuid,
    type: Type.Literal(type),
    version: Type.Literal(version),
    occurred_at: Timestamp,
    correlation_id: Type.String({ minLength: 1, maxLength: 200 }),
    data
  })
}

export function defineContract<const T extends string, const V extends number, D extends TSchema, const R extends string> (
  definition: { type: T, version: V, routingKey: R, data: D }
): EventContract<T, V, D, R> {
  return Object.freeze({ ...definition, schema: envelopeSchema(definition.type, definition.version, definition.data) })
}
