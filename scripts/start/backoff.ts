/** Restart delays: from the first, doubling up to the last; a process up this long counts as healthy again. */
export const RESTART_FIRST_MS = 500
export const RESTART_MAX_MS = 30_000
export const RESTART_STABLE_MS = 30_000

/**
 * The delay before the next start of a process that crashed `failures` times
 * in a row: exponential, bounded, with ±25 % jitter (so several crashed
 * instances do not all come back in the same instant).
 *
 * One formula rather than p-retry: p-retry runs a task and owns the wait
 * between its attempts, while a supervised process is no task that fails —
 * the supervisor needs the delay before it waits (to log it), cancels the wait
 * on shutdown, and starts counting again after RESTART_STABLE_MS up.
 */
export function restartDelay (failures: number, random: () => number = Math.random): number {
  const base = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** Math.min(failures, 30))
  return Math.min(RESTART_MAX_MS, Math.round(base * (0.75 + random() * 0.5)))
}
