import { loadConfigOrExit, startServer } from '@topup/service-kit'
import { buildApp } from './app.js'
import { AnalyticsEnv } from './config.js'

const config = loadConfigOrExit(AnalyticsEnv)
let app: Awaited<ReturnType<typeof buildApp>>
try {
  app = await buildApp(config)
} catch (err) {
  // e.g. the dashboard's CSS was never built: one clear line, exit 1
  process.stderr.write(`analytics could not start: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
}
await startServer(app, { host: config.HOST, port: config.PORT })
