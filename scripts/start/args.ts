import { parseArgs } from 'node:util'
import { BACKENDS, GATEWAY, type BackendName } from '../services.js'
import { ScriptError } from '../common/settings.js'

export const USAGE = 'usage: npm start [-- --scale <service>=<n>[,<service>=<n>…]]   (npm start -- --scale orders=3,payments=2)'

/** The most instances of one service (their ports are base + 10·i). */
export const MAX_INSTANCES = 9

export type Scale = Partial<Record<BackendName, number>>

export type StartArguments = { help: true } | { help: false, scale: Scale }

const isBackend = (name: string): name is BackendName => BACKENDS.some((s) => s.name === name)

/**
 * `--scale orders=3,payments=2` (or `--scale=…`, repeated) → { orders: 3, payments: 2 };
 * `--help` / `-h`. Anything else is a ScriptError with the usage line.
 */
export function parseStartArguments (args: readonly string[]): StartArguments {
  let values: { scale?: string[], help?: boolean }
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { scale: { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false
    }))
  } catch (err) {
    throw new ScriptError(`${(err as Error).message}\n${USAGE}`)
  }
  if (values.help === true) return { help: true }

  const scale: Scale = {}
  const names = BACKENDS.map((s) => s.name)
  const items = (values.scale ?? []).flatMap((spec) => spec.split(',')).map((x) => x.trim()).filter((x) => x !== '')
  for (const item of items) {
    const match = /^([a-z]+)=(\d+)$/.exec(item)
    if (match === null) throw new ScriptError(`--scale: "${item}" is not <service>=<n>\n${USAGE}`)
    const [, name = '', count = ''] = match
    if (name === GATEWAY.name) throw new ScriptError('--scale: the gateway runs once (it is the one public port); scale the services behind it')
    if (!isBackend(name)) throw new ScriptError(`--scale: unknown service "${name}" (one of ${names.join(', ')})`)
    const n = Number(count)
    if (n < 1 || n > MAX_INSTANCES) throw new ScriptError(`--scale: ${name}=${count}: between 1 and ${MAX_INSTANCES} instances`)
    scale[name] = n
  }
  return { help: false, scale }
}
