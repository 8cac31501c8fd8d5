import { startServer } from '@topup/service-kit'
import { loadGatewayConfigOrExit } from './config.js'
import { buildApp } from './app.js'

const config = loadGatewayConfigOrExit()
const app = buildApp(config)
await startServer(app, { host: config.HOST, port: config.PORT })
