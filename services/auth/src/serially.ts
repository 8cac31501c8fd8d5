/**
 * A runner that runs the functions given to it one at a time, in call order
 * (a promise chain as a mutex; a failure does not stop the chain). For
 * check-then-count steps on the rate-limit counters, which must not interleave.
 */
export function serially (): <T>(fn: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve()
  return function exclusive<T> (fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn, fn)
    queue = run.catch(() => {})
    return run
  }
}
