/**
 * How the sandbox treats a player, chosen by the first characters of the
 * player id, so that a test (or a person with curl) picks a delivery path by
 * picking an id. Calls are counted per request id (db/credits.ts).
 */
export type Behaviour =
  /** `404…`: no such player. The lookup is a 404, a credit is refused for good (recorded). */
  | 'unknown-player'
  /** `503…`: the first two calls of each request id are a 503 with Retry-After: 1; the third credits. */
  | 'unavailable-twice'
  /** `504…`: the first call of each request id answers a 504 after SLOW_MS, crediting nothing; the next one credits. */
  | 'timeout-without-credit'
  /** `202…`: the first call credits, then answers only after SLOW_MS (the client timed out; the credit is made). */
  | 'credit-then-slow'
  /** `999…`: every call is a 503, always (a publisher that is down for this player). */
  | 'always-unavailable'
  /** Anything else: credited at once. */
  | 'normal'

const PREFIXES: ReadonlyArray<readonly [string, Behaviour]> = [
  ['404', 'unknown-player'],
  ['503', 'unavailable-twice'],
  ['504', 'timeout-without-credit'],
  ['202', 'credit-then-slow'],
  ['999', 'always-unavailable']
]

export function behaviourOf (playerId: string): Behaviour {
  for (const [prefix, behaviour] of PREFIXES) if (playerId.startsWith(prefix)) return behaviour
  return 'normal'
}

/** The player's name in the publisher's game. */
export function nicknameOf (playerId: string): string {
  return `Player${playerId}`
}

/** The calls of one request id that a `unavailable-twice` player answers with a 503. */
export const UNAVAILABLE_CALLS = 2
