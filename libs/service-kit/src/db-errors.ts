/**
 * Whether an error means "the database could not be reached or gave up on
 * the session" rather than "this statement is wrong": the same work can be
 * tried again once the server is back. PostgreSQL restarting (57P01 admin
 * shutdown, 57P02 crash shutdown, 57P03 still starting), its connection
 * errors (class 08), running out of connections or memory (class 53), a
 * transaction it rolled back to break a deadlock or a serialization conflict
 * (40P01, 40001), and the network or pool errors node-postgres raises when
 * the socket is gone.
 *
 * Used by the error handler (503 with Retry-After instead of 500) and by the
 * event consumer (hold the event and try again instead of counting the
 * attempt towards the dead-letter limit).
 */
const SQLSTATES = new Set(['57P01', '57P02', '57P03', '40001', '40P01'])
const SQLSTATE_CLASSES = ['08', '53']
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'])
// node-postgres raises these as plain Errors without a code
const PG_CLIENT_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error and is not queryable',
  'Connection terminated due to connection timeout'
]

export function databaseUnavailable (err: unknown): boolean {
  if (!(err instanceof Error)) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string') {
    if (SQLSTATES.has(code) || NETWORK_CODES.has(code)) return true
    if (code.length === 5 && SQLSTATE_CLASSES.includes(code.slice(0, 2))) return true
  }
  if (PG_CLIENT_MESSAGES.some((m) => err.message.startsWith(m))) return true
  // several addresses refused at once (happy eyeballs): an AggregateError of network errors
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(databaseUnavailable)
  const cause = (err as { cause?: unknown }).cause
  return cause !== undefined && cause !== err && databaseUnavailable(cause)
}
