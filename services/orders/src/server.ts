import { startServer } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadOrdersConfigOrExit } from './config.js'

const config = loadOrdersConfigOrExit()
const app = await buildApp(config)
await startServer(app, { host: config.HOST, port: config.PORT })
