import { connect, createServer, type AddressInfo, type Socket } from 'node:net'

/** A TCP proxy a test owns, to take a service's broker connection away and give it back. */
export interface TcpProxy {
  host: string
  port: number
  /** `original` (e.g. the AMQP URL) with its host and port replaced by the proxy's. */
  urlFor: (original: string) => string
  /** Destroys every open connection and refuses new ones until `restore()`. */
  cut: () => void
  /** Accepts connections again. */
  restore: () => void
  /** Connections accepted (and passed on) so far. */
  readonly accepted: number
  close: () => Promise<void>
}

export async function startTcpProxy (targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>()
  let refusing = false
  let accepted = 0

  const track = (socket: Socket): void => {
    sockets.add(socket)
    socket.once('close', () => { sockets.delete(socket) })
  }

  const server = createServer((client) => {
    track(client)
    if (refusing) { client.destroy(); return }
    accepted++
    const upstream = connect({ host: targetHost, port: targetPort })
    track(upstream)
    const closeBoth = (): void => { client.destroy(); upstream.destroy() }
    client.on('error', closeBoth)
    upstream.on('error', closeBoth)
    client.on('close', closeBoth)
    upstream.on('close', closeBoth)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const { port } = server.address() as AddressInfo

  const destroyAll = (): void => { for (const socket of sockets) socket.destroy() }

  return {
    host: '127.0.0.1',
    port,
    urlFor (original: string): string {
      const url = new URL(original)
      url.hostname = '127.0.0.1'
      url.port = String(port)
      return url.toString()
    },
    cut () {
      refusing = true
      destroyAll()
    },
    restore () {
      refusing = false
    },
    get accepted () { return accepted },
    async close () {
      refusing = true
      destroyAll()
      if (!server.listening) return
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}

/**
 * A proxy in front of the test broker, closed when the test ends (registered
 * before `startSystem`, so it closes after the services: tap runs teardowns
 * last-in, first-out).
 */
export async function brokerProxy (t: { teardown: (fn: () => unknown) => void }, amqpUrl: string): Promise<TcpProxy & { url: string }> {
  const target = new URL(amqpUrl)
  const proxy = await startTcpProxy(target.hostname, Number(target.port === '' ? 5672 : target.port))
  t.teardown(() => proxy.close())
  return Object.assign(proxy, { url: proxy.urlFor(amqpUrl) })
}
