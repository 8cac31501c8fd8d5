import { Counter, type Registry } from '@topup/service-kit'

/** Transactions settled, by final status and by what settled them: its webhook, or the expiry sweep. */
export type SettledCounter = Counter<'status' | 'reason'>

export function settledPayments (registry: Registry): SettledCounter {
  return new Counter({
    name: 'payments_settled_total',
    help: 'Transactions that became success or failed, by what settled them (webhook, expired)',
    labelNames: ['status', 'reason'],
    registers: [registry]
  })
}
