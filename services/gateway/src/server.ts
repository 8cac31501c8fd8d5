import { loadConfigOrExit, startServer } from '@topup/service-kit'
import { GatewayEnv } from './config.js'
import { buildApp } from './app.js'

const config = loadConfigOrExit(GatewayEnv)
const app = buildApp(config)
await startServer(app, { host: config.HOST, port: config.PORT })
