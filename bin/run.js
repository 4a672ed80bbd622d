#!/usr/bin/env node
import {execute} from '../dist/cli.js'

await execute({dir: import.meta.url})
// A client library that leaves a socket or timer behind must not keep a finished command
// alive; the timer is unref'd, so a clean exit never waits for it.
setTimeout(() => process.exit(), 2000).unref()
