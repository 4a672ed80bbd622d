#!/usr/bin/env node
import module from 'node:module'

// V8's compiled code for dist/ kept between runs (Node ≥ 22.1; in the OS temp directory unless
// NODE_COMPILE_CACHE names another, off with NODE_DISABLE_COMPILE_CACHE=1): compiling the bundle
// is the largest part of start-up that a run can skip. It must be on before the bundle is
// imported, hence the dynamic import.
module.enableCompileCache?.()
const {execute} = await import('../dist/cli.js')

await execute({dir: import.meta.url})
// A client library that leaves a socket or timer behind must not keep a finished command
// alive; the timer is unref'd, so a clean exit never waits for it.
setTimeout(() => process.exit(), 2000).unref()
