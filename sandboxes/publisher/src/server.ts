import { runService } from '@topup/service-kit'
import { buildApp } from './app.js'
import { loadPublisherSandboxConfig } from './config.js'

await runService('publisher-sandbox', loadPublisherSandboxConfig, buildApp)
