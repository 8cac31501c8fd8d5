/** The demo's players: registered (or found from an earlier run), logged in once, their token refreshed when it gets old. */
import pLimit from 'p-limit'
import { messageOf, RequestError } from './client.js'
import type { Demo } from './context.js'
import type { Game, Player, Session } from './history.js'
import { login } from './system.js'

export const PLAYER_PASSWORD = 'Demo-Topup-Pl4yer!'
/** An access token older than this is refreshed before use. */
const TOKEN_FRESH_MS = 12 * 60_000

function sessionOf (player: Player): Session {
  if (player.session === undefined) throw new Error(`${player.username} has no session`)
  return player.session
}

/**
 * Starts setting up every player, a few at a time (password hashing is the
 * expensive part of auth); `player.ready` settles when theirs is done. The
 * returned promise settles when all are (never rejects: an order of a player
 * who could not be set up fails on its own).
 */
export function setUpPlayers (demo: Demo, players: readonly Player[], games: readonly Game[], onReady: () => void): Promise<unknown> {
  const auth = pLimit(4)
  for (const player of players) {
    player.ready = auth(async () => { await setUpPlayer(demo, player, games) })
    player.ready.then(onReady, (err: unknown) => { demo.client.recordError(err as Error) })
  }
  return Promise.allSettled(players.map(async (p) => { await p.ready }))
}

async function setUpPlayer (demo: Demo, player: Player, games: readonly Game[]): Promise<void> {
  const registered = await demo.client.callWithRetry('POST', '/api/register/', {
    json: {
      username: player.username,
      email: `${player.username}@players.example.com`,
      password: PLAYER_PASSWORD,
      preferred_game: games[player.favourite]?.name
    }
  })
  if (registered.status === 201) player.isNew = true
  else if (registered.status === 409) player.isNew = false
  else throw new RequestError(`register ${player.username} → ${registered.status} ${messageOf(registered.body)}`, registered.status)
  player.session = await login(demo, player.username, PLAYER_PASSWORD)
}

/** The player's access token, refreshed (once, for all their requests) when it gets old or `stale` was refused. */
export async function accessToken (demo: Demo, player: Player, { stale }: { stale?: string } = {}): Promise<string> {
  const session = sessionOf(player)
  if (stale !== session.access && Date.now() - session.at < TOKEN_FRESH_MS) return session.access
  player.refreshing ??= (async () => {
    try {
      const result = await demo.client.callWithRetry('POST', '/api/token/refresh/', { json: { refresh: session.refresh } })
      if (result.status === 200) {
        const { access, refresh } = result.body as { access: string, refresh: string }
        player.session = { access, refresh, at: Date.now() }
      } else {
        player.session = await login(demo, player.username, PLAYER_PASSWORD)
      }
    } finally {
      player.refreshing = undefined
    }
  })()
  await player.refreshing
  return sessionOf(player).access
}
