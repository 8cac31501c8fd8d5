export { BrokerConnection, BrokerUnavailableError, redactUrl, type BrokerConnectionOptions, type ConnectionSetup, type PublishOptions } from './connection.js'
export {
  DEFAULT_DELIVERY_LIMIT, declareExchanges, declareTopology, deleteTopology, deleteTopologyAt, serviceQueueNames, topologyNames,
  type ServiceQueueNames, type TopologyNames, type TopologyOptions
} from './topology.js'
export {
  OUTBOX_NOTIFY_CHANNEL, createInboxTable, createOutboxTable, enqueueEvent, pruneInbox, pruneSentEvents,
  type InboxDatabase, type InboxTable, type OutboxDatabase, type OutboxTable
} from './outbox.js'
export { startOutboxRelay, type OutboxRelay, type OutboxRelayOptions, type RelayStats } from './relay.js'
export {
  applyEvent, defineHandler, defineHandlers, deliverEvent, startConsumer,
  type AnyEventHandler, type Consumer, type ConsumerOptions, type ConsumerStats, type EventHandler, type EventHandlers
} from './consumer.js'
export {
  DEAD_LETTER_HEADERS, deadLetterHeaders, describeDeadLetter, listDeadLetters, listUnroutable, originalRoutingKey, replayDeadLetters, replayUnroutable,
  type DeadLetter, type ReplayOptions, type ReplayResult
} from './dlq.js'
export { backlogMetrics, messagingMetrics, type DeadLetterCause, type MessagingMetrics } from './metrics.js'
export { default as messaging, type Messaging, type MessagingOptions } from './plugin.js'
export type { Logger } from './log.js'
