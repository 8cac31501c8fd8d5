/** The services behind the gateway. */
export const SERVICES = ['auth', 'orders', 'payments', 'analytics'] as const
export type ServiceName = typeof SERVICES[number]

export interface ProxyRoute {
  /** Public path prefix (docs/DESIGN.md §2); it reaches the service unchanged. */
  prefix: string
  service: ServiceName
}

/**
 * Every public path prefix and the service that owns it. A prefix covers itself
 * with and without a trailing slash and everything below it (`/api/orders/42`).
 */
export const ROUTES: readonly ProxyRoute[] = [
  { prefix: '/api/register', service: 'auth' },
  { prefix: '/api/token', service: 'auth' }, // and /api/token/refresh
  { prefix: '/api/logout', service: 'auth' },
  { prefix: '/api/profile', service: 'auth' },
  { prefix: '/api/games', service: 'orders' },
  { prefix: '/api/products', service: 'orders' },
  { prefix: '/api/topup', service: 'orders' },
  { prefix: '/api/orders', service: 'orders' },
  { prefix: '/api/payment', service: 'payments' },
  { prefix: '/api/dashboard', service: 'analytics' },
  { prefix: '/api/analytics', service: 'analytics' },
  { prefix: '/api/export', service: 'analytics' }
]
