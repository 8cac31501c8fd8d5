export {
  Currency, Money, Timestamp, Uuid, defineContract, envelopeSchema,
  type DataOf, type EventContract, type EventEnvelope, type EventOf
} from './envelope.js'
export {
  OrderCreated, OrderCreatedV2, OrderStatus, PaymentStatusChanged, contractFor, contractForRoutingKey, contracts,
  type AnyOrderCreatedEvent, type OrderCreatedEvent, type OrderCreatedV2Event, type PaymentStatusChangedEvent
} from './events.js'
export {
  EventValidationError, assertEvent, makeEvent, validateEvent,
  type MakeEventOptions, type Problem, type ValidateOptions, type ValidationResult
} from './validate.js'
