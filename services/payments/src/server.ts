import { loadConfigOrExit, startServer } from '@topup/service-kit'
import { buildApp } from './app.js'
import { DEV_WEBHOOK_SECRET, PaymentsEnv } from './config.js'

const config = loadConfigOrExit(PaymentsEnv, { devSecrets: { PAYMENT_WEBHOOK_SECRET: DEV_WEBHOOK_SECRET } })
const app = await buildApp(config)
await startServer(app, { host: config.HOST, port: config.PORT })
