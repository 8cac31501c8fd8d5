/** Asking a process whether it is ready, until it is. */
import { get } from 'node:http'
import pRetry, { AbortError } from 'p-retry'

/** How often a process that is not ready yet is asked again. */
const POLL_INTERVAL_MS = 250
/** How long one answer may take. */
const ANSWER_TIMEOUT_MS = 3_000

export interface Answer {
  /** The HTTP status; 0 when there was no answer (then `body` says why). */
  code: number
  body: string
}

/** One GET without keep-alive (a connection left open would hold up the service's shutdown). */
export async function probe (url: string): Promise<Answer> {
  return await new Promise((resolve) => {
    const req = get(url, { agent: false, timeout: ANSWER_TIMEOUT_MS }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { if (body.length < 2000) body += chunk })
      res.on('end', () => { resolve({ code: res.statusCode ?? 0, body }) })
    })
    req.once('timeout', () => { req.destroy(new Error(`no answer within ${ANSWER_TIMEOUT_MS / 1000} s`)) })
    req.once('error', (err: NodeJS.ErrnoException) => { resolve({ code: 0, body: err.code ?? err.message }) })
  })
}

/**
 * Resolves once `url` answers 200, asking every 250 ms for at most
 * `timeoutMs`; rejects with `signal.reason` as soon as `signal` aborts (the
 * process exited, or everything is stopping) and with a message naming the
 * last answer when time runs out.
 */
export async function waitUntilReady (name: string, url: string, { timeoutMs, signal }: { timeoutMs: number, signal: AbortSignal }): Promise<void> {
  signal.throwIfAborted()
  const deadline = Date.now() + timeoutMs
  let last: Answer = { code: 0, body: 'no answer yet' }
  await pRetry(async () => {
    if (Date.now() >= deadline) {
      const answer = last.code === 0 ? last.body : `HTTP ${last.code} ${last.body}`
      throw new AbortError(`${name} was not ready within ${timeoutMs / 1000} s (${url} last answered: ${answer})`)
    }
    last = await probe(url)
    if (last.code !== 200) throw new Error(`${url}: not ready yet`)
  }, {
    // asked at a steady pace until the deadline above (forever: the number of tries is the deadline's business)
    forever: true,
    factor: 1,
    minTimeout: POLL_INTERVAL_MS,
    randomize: false,
    signal
  })
  // a 200 from a process that exited meanwhile does not count
  signal.throwIfAborted()
}
