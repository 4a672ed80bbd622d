// Writes oclif.manifest.json so oclif finds a command without loading every command file.
// Same result as `oclif manifest`, without pulling the whole oclif packaging CLI into devDependencies.
import {writeFileSync, rmSync} from 'node:fs'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {dirname, join} from 'node:path'
import {Plugin} from '@oclif/core'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
rmSync(join(root, 'oclif.manifest.json'), {force: true})
// Commands load on demand (src/cli/entry.ts); the manifest needs every class to read its flags.
await (await import(pathToFileURL(join(root, 'dist', 'cli.js')).href)).loadAllCommands()
const plugin = new Plugin({root, type: 'core', ignoreManifest: true, errorOnManifestCreate: true})
await plugin.load()
writeFileSync(join(root, 'oclif.manifest.json'), JSON.stringify(plugin.manifest, null, 2) + '\n')
console.error(`oclif.manifest.json: ${Object.keys(plugin.manifest.commands).length} commands`)
