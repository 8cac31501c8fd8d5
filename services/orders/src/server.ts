import { loadConfigOrExit, startServer } from '@topup/service-kit'
import { buildApp } from './app.js'
import { OrdersEnv } from './config.js'

const config = loadConfigOrExit(OrdersEnv)
const app = await buildApp(config)
await startServer(app, { host: config.HOST, port: config.PORT })
