import { startServer } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadAuthConfigOrExit } from './config.js'

const config = loadAuthConfigOrExit()
const app = await buildApp(config)
await startServer(app, { host: config.HOST, port: config.PORT })
