import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

export type ReadinessCheck = () => Promise<unknown>

declare module 'fastify' {
  interface FastifyInstance {
    /** Registers something `/ready` must reach (own database, broker, upstreams). */
    addReadinessCheck: (name: string, check: ReadinessCheck) => void
  }
}

const CHECK_TIMEOUT_MS = 2000

function withTimeout<T> (promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)) }, ms)
  })
  return Promise.race([promise, timeout]).finally(() => { clearTimeout(timer) })
}

/** `/health`: the process is alive. `/ready`: every registered dependency answers. */
export default fp(async function health (app: FastifyInstance) {
  const checks = new Map<string, ReadinessCheck>()
  let closing = false
  app.decorate('addReadinessCheck', (name: string, check: ReadinessCheck) => { checks.set(name, check) })
  app.addHook('preClose', async () => { closing = true })

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'ok' }))

  app.get('/ready', { schema: { hide: true } }, async (_request, reply) => {
    const results: Record<string, unknown> = {}
    let ready = !closing
    await Promise.all([...checks].map(async ([name, check]) => {
      try {
        const detail = await withTimeout(check(), CHECK_TIMEOUT_MS)
        results[name] = detail === undefined || detail === null || typeof detail !== 'object' ? 'ok' : detail
      } catch (err) {
        ready = false
        results[name] = `unavailable: ${(err as Error).message}`
      }
    }))
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks: results })
  })
}, { name: 'health' })
