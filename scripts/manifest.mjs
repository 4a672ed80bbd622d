// Writes oclif.manifest.json so oclif finds a command without loading every command file, then
// warms the code cache (below).
// Same result as `oclif manifest`, without pulling the whole oclif packaging CLI into devDependencies.
import {writeFileSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'
import {createRequire} from 'node:module'
import {execFileSync} from 'node:child_process'
import {Plugin} from '@oclif/core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
rmSync(join(root, 'oclif.manifest.json'), {force: true})
// Commands load on demand (src/cli/entry.ts); the manifest needs every class to read its flags.
// The same module instance oclif requires below (package.json `oclif` points at dist/cli.cjs).
await createRequire(import.meta.url)(join(root, 'dist', 'cli.cjs')).loadAllCommands()
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true})
await plugin.load()
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n')
console.error(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)

// One representative command (a file read to a table) run now, so that the code cache
// bin/load-cli.js keeps for dist/cli.cjs holds what a command compiles on its way to the first
// byte, rather than whatever the first command after a build happened to run (--help, a
// typo). Only the Node running the build, with its flags, gets a cache this way; any other is
// made by its first run.
execFileSync(process.execPath, [join(root, 'bin', 'run.js'), 'inspect', join(root, 'fixtures', 'mixed.ndjson'), '--limit', '50'], {stdio: 'ignore'})
