/** The slice of a pino / Fastify logger this library writes to. */
export interface Logger {
  debug: (obj: object, msg?: string) => void
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) { resolve(); return }
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** Exponential backoff with jitter, bounded. */
export class Backoff {
  private attempt = 0
  constructor (private readonly initialMs: number, private readonly maxMs: number) {}
  next (): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempt)
    this.attempt++
    return Math.round(base * (0.8 + Math.random() * 0.4))
  }

  reset (): void { this.attempt = 0 }
}
