// Writes oclif.manifest.json so oclif finds a command without loading every command file.
// Same result as `oclif manifest`, without pulling the whole oclif packaging CLI into devDependencies.
import {writeFileSync, rmSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {dirname, join} from 'node:path'
import {createRequire} from 'node:module'
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
