/**
 * The part of autocannon 8's programmatic API the benchmark uses, typed here:
 * the package ships no types and there is no @types/autocannon installed.
 * Shapes from node_modules/autocannon/README.md ("API", "Results").
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  namespace autocannon {
    interface Request {
      method?: string
      path?: string
      headers?: Record<string, string>
      body?: string | Buffer
      /** Called before every request of a connection; returns the request to send. */
      setupRequest?: (request: Request, context: Record<string, unknown>) => Request
      /** Called with every complete response (the body as text). */
      onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string>) => void
    }

    interface Options {
      url: string
      connections?: number
      /** Seconds. */
      duration?: number
      /** Requests in all; wins over duration. */
      amount?: number
      /** Seconds to wait for a response before it counts as a timeout (default 10). */
      timeout?: number
      method?: string
      headers?: Record<string, string>
      body?: string
      requests?: Request[]
      title?: string
    }

    /** hdr-histogram-percentiles-obj: what autocannon reports for latency (ms), requests and throughput. */
    interface Histogram {
      average: number
      mean: number
      stddev: number
      min: number
      max: number
      total: number
      p2_5: number
      p50: number
      p75: number
      p90: number
      p97_5: number
      p99: number
      p99_9: number
      p99_99: number
      p99_999: number
    }

    interface Result {
      title?: string
      url: string
      requests: Histogram
      latency: Histogram
      throughput: Histogram
      /** Seconds. */
      duration: number
      /** Connection errors, timeouts included. */
      errors: number
      timeouts: number
      mismatches: number
      non2xx: number
      resets: number
      start: Date
      finish: Date
      connections: number
      statusCodeStats: Record<string, { count: number }>
      '1xx': number
      '2xx': number
      '3xx': number
      '4xx': number
      '5xx': number
    }

    interface Instance extends EventEmitter {
      stop: () => void
      on: ((event: 'tick', listener: (counts: { counter: number, bytes: number }) => void) => this) &
        ((event: 'response', listener: (client: unknown, statusCode: number, resBytes: number, responseTime: number) => void) => this) &
        ((event: 'done', listener: (result: Result) => void) => this) &
        ((event: string, listener: (...args: unknown[]) => void) => this)
    }
  }

  function autocannon (options: autocannon.Options, callback: (err: Error | null, result: autocannon.Result) => void): autocannon.Instance

  export = autocannon
}
