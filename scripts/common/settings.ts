/**
 * What the scripts share: reading numbers from the environment, and the error
 * for a setting or an argument that makes running pointless.
 */

/** A mistake of the person running the script: its message is the whole story (printed without a stack, then exit 1). */
export class ScriptError extends Error {
  override name = 'ScriptError'
}

/**
 * `env[name]` as a whole number from 1 to `max`; `fallback` when unset or
 * empty. Throws a ScriptError naming the variable otherwise ("1e3", "-1",
 * " 5" and "5.0" are refused, not read as numbers).
 */
export function positiveInt (env: NodeJS.ProcessEnv, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!/^\d+$/.test(raw) || value < 1 || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'a positive whole number' : `a whole number from 1 to ${max}`
    throw new ScriptError(`${name} must be ${range} (got ${JSON.stringify(raw)})`)
  }
  return value
}

/** `env[name]` as a base URL without trailing slashes (paths are appended to it); `fallback` when unset. */
export function baseUrl (env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  return (env[name] ?? fallback).replace(/\/+$/, '')
}
