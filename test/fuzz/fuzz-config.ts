/**
 * The knobs of a fuzz run, from the environment, printed at the start of each
 * file so a failure can be replayed: FUZZ_SEED (fixed per run, random when
 * unset), FUZZ_PATH (fast-check's path of a failing run, to replay only it),
 * FUZZ_SHRINK=1 (shrink a failure to a smaller one; off by default because
 * every shrink step is real HTTP and database work), and the run counts.
 * FUZZ_PATH is given as `<property>=<path>` (the failure message prints it).
 */
import { randomInt } from 'node:crypto'
import type { Parameters as FcParameters } from 'fast-check'

function integer (name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (!/^-?\d+$/.test(raw)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`)
  return Number(raw)
}

export const SEED = integer('FUZZ_SEED', randomInt(1, 2 ** 31 - 1))
const PATH = process.env.FUZZ_PATH
export const SHRINK = process.env.FUZZ_SHRINK === '1'

/** How a failure of `property` is replayed (with the fast-check path when it failed). */
export function replayHint (property: string, path?: string): string {
  return `replay with FUZZ_SEED=${SEED}${path === undefined ? '' : ` FUZZ_PATH='${property}=${path}'`}`
}

/** The run index FUZZ_PATH replays for `property` (0 when it replays nothing). */
export function replayedRun (property: string): number {
  if (PATH === undefined || !PATH.startsWith(`${property}=`)) return 0
  return Number(PATH.slice(property.length + 1).split(':')[0] ?? 0)
}

/** fast-check parameters for the property named `property` in this run. */
export function runParameters<T> (property: string, numRuns: number): FcParameters<T> {
  const replay = PATH !== undefined && PATH.startsWith(`${property}=`) ? PATH.slice(property.length + 1) : undefined
  return {
    seed: SEED,
    // a path starts the runs at that one; only it is wanted
    numRuns: replay === undefined ? numRuns : 1,
    endOnFailure: !SHRINK,
    ...(replay === undefined ? {} : { path: replay })
  }
}

export { integer as integerFromEnv }
