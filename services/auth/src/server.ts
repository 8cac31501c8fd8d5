import { runService } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadAuthConfig } from './config.js'

await runService('auth', () => loadAuthConfig(), buildApp)
