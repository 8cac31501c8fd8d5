import type { GatewayClient } from './client.js'
import type { DemoConfig } from './config.js'
import type { Progress } from './progress.js'

/** What the demo has learnt about its orders, for the waits and the summary. */
export interface Tally {
  placed: number
  created: number
  replayed: number
  settled: number
  /** Webhooks that moved a transaction (not repeats of an earlier run). */
  changed: { success: number, failed: number }
  outcome: { success: number, failed: number, pending: number }
  revenueCents: number
}

export function newTally (): Tally {
  return { placed: 0, created: 0, replayed: 0, settled: 0, changed: { success: 0, failed: 0 }, outcome: { success: 0, failed: 0, pending: 0 }, revenueCents: 0 }
}

/** One run of the demo: handed to every step (the demo keeps no state of its own between runs). */
export interface Demo {
  config: DemoConfig
  client: GatewayClient
  progress: Progress
  tally: Tally
}
