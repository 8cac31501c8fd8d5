/**
 * A Server-Sent Events reader for tests: fetch (so it can send a bearer
 * token, as the page does) and the text/event-stream format parsed into
 * events and comments as they arrive.
 */
export interface SseEvent { event: string, data: string, comment: string | null, at: number }

export interface SseStream {
  status: number
  headers: Headers
  events: SseEvent[]
  /** True once the server ended the stream. */
  ended: () => boolean
  /** The first event (already received or to come) that `match` accepts; rejects after `timeoutMs`. */
  next: (match: (e: SseEvent) => boolean, timeoutMs?: number) => Promise<SseEvent>
  close: () => void
}

export async function openSse (url: string, headers: Record<string, string>): Promise<SseStream> {
  const controller = new AbortController()
  const res = await fetch(url, { headers, signal: controller.signal })
  const events: SseEvent[] = []
  let ended = false
  let wake: () => void = () => {}
  if (res.body !== null && res.status === 200) {
    const reader = res.body.getReader()
    const decoder = new TextDecoder()
    void (async () => {
      let buffer = ''
      try {
        for (;;) {
          const { done, value } = await reader.read()
          if (done) break
          buffer += decoder.decode(value, { stream: true })
          let cut: number
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut)
            buffer = buffer.slice(cut + 2)
            let event = 'message'
            const data: string[] = []
            let comment: string | null = null
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comment = line.slice(1).trim()
              else if (line.startsWith('event:')) event = line.slice(6).trim()
              else if (line.startsWith('data:')) data.push(line.slice(5).trimStart())
              else if (line.startsWith('retry:')) event = 'retry'
            }
            events.push({ event: comment !== null && data.length === 0 ? 'comment' : event, data: data.join('\n'), comment, at: Date.now() })
            wake()
          }
        }
      } catch {
        // aborted by close()
      } finally {
        ended = true
        wake()
      }
    })()
  } else {
    ended = true
  }
  return {
    status: res.status,
    headers: res.headers,
    events,
    ended: () => ended,
    async next (match, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const found = events.find(match)
        if (found !== undefined) return found
        if (ended) throw new Error(`the stream ended without the event (got: ${events.map((e) => e.event).join(', ')})`)
        const left = deadline - Date.now()
        if (left <= 0) throw new Error(`no such event within ${timeoutMs} ms (got: ${events.map((e) => e.event).join(', ')})`)
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, left)
          wake = () => { clearTimeout(t); resolve() }
        })
      }
    },
    close: () => { controller.abort() }
  }
}
