export {
  Currency, Money, Timestamp, Uuid, defineContract, envelopeSchema,
  type DataOf, type EventContract, type EventEnvelope, type EventOf
} from './envelope.js'
export {
  OrderCreated, OrderStatus, PaymentStatusChanged, contractFor, contractForRoutingKey, contracts,
  type OrderCreatedEvent, type PaymentStatusChangedEvent
} from './events.js'
export {
  EventValidationError, assertEvent, makeEvent, validateEvent,
  type MakeEventOptions, type Problem, type ValidateOptions, type ValidationResult
} from './validate.js'
