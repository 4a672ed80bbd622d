#!/usr/bin/env node
// CommonJS (bin/package.json): a CommonJS entry starts without Node's ES module loader.
const {join} = require('node:path')
const {loadCli} = require('./load-cli.js')

// The project root, not this directory: oclif looks for package.json from here upwards, and
// bin/package.json only says how Node loads these two files.
const cli = loadCli()
cli
  .execute({dir: join(__dirname, '..')})
  // A client library that leaves a socket or timer behind must not keep a finished command
  // alive; the timer is unref'd, so a clean exit never waits for it. What a slow reader of
  // stdout or stderr has not taken yet is handed on first: process.exit would drop it.
  .then(() => setTimeout(() => Promise.all([cli.written(process.stdout), cli.written(process.stderr)]).then(() => process.exit()), 2000).unref())
