import { Type, type Static, type TObject } from 'typebox'
import { BaseEnv, loadConfig } from '@topup/service-kit'

export const PublisherSandboxEnv = {
  ...BaseEnv,
  PORT: Type.Integer({ default: 3090, minimum: 0, maximum: 65535 }),
  DATABASE_URL: Type.String({ default: 'postgres://postgres@127.0.0.1:5432/topup_publisher_sandbox', minLength: 1 }),
  /**
   * How long the slow answers take (players 504… and 202…): longer than the
   * client's timeout, so that it has given up by then. Tests set a few ms.
   */
  SLOW_MS: Type.Integer({ default: 10_000, minimum: 0, maximum: 600_000 })
}

export type PublisherSandboxConfig = Static<TObject<typeof PublisherSandboxEnv>>

/** The sandbox's configuration; throws a ConfigError with one line per bad variable. */
export function loadPublisherSandboxConfig (env: NodeJS.ProcessEnv = process.env): PublisherSandboxConfig {
  return loadConfig(PublisherSandboxEnv, { env })
}
