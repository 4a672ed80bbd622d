// Builds dist/: one ES module bundle (dist/cli.js) holding oclif and the commands, with
// code-split chunks for what only some commands load (file, Kafka and Redis backends, the TUI).
// npm packages that are heavy or only sometimes needed stay external and load at run time.
// The bundle is written beside dist/ and swapped in by renames, so a CLI started while a
// build runs (tests in another terminal) never finds dist/ half-written.
import {build} from 'esbuild'
import {copyFileSync, existsSync, renameSync, rmSync} from 'node:fs'
import {join} from 'node:path'

const tmp = `dist.build-${process.pid}`
rmSync(tmp, {recursive: true, force: true})
await build({
  entryPoints: {cli: 'src/cli/entry.ts', 'stats-worker': 'src/backends/file/stats-worker.ts', 'tui-bench': 'src/tui/bench-harness.ts'},
  outdir: tmp,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  // Only oclif (and its small helpers) are bundled; typescript is an optional dev-time lookup of oclif's.
  external: ['typescript', 'ioredis', '@msgpack/msgpack', 'fzstd', 'react-devtools-core'],
  // React's production build: the development one checks every render (browse's key-to-frame time).
  define: {'process.env.NODE_ENV': '"production"'},
  // browse.ts sets NODE_ENV itself before it loads React, for a run from source (tsx, tests);
  // in the bundle the define above has already decided, so that assignment is moot, not a bug.
  logOverride: {'assign-to-define': 'silent'},
  // oclif is CommonJS: give its require() calls a real require inside the ES module bundle.
  banner: {js: "import {createRequire as __dlqCreateRequire} from 'node:module'; const require = __dlqCreateRequire(import.meta.url);"},
  logLevel: 'warning',
})
// @platformatic/kafka is bundled (its ~100 modules cost ~250 ms to load one by one); its
// wasm-utils dependency reads native.wasm next to the module that loads it.
copyFileSync(join('node_modules', '@platformatic', 'wasm-utils', 'dist', 'native.wasm'), join(tmp, 'native.wasm'))
const old = `dist.old-${process.pid}`
if (existsSync('dist')) renameSync('dist', old)
renameSync(tmp, 'dist')
rmSync(old, {recursive: true, force: true})
