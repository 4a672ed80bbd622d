// Builds dist/: the CLI as one CommonJS bundle (dist/cli.cjs: oclif, the command table, every
// command, store and output module), which bin/load-cli.js compiles with a V8 code cache;
// CommonJS bundles of their own for large libraries only some commands use (dist/kafka.cjs,
// dist/schema.cjs); ES modules for what must stay ES modules (the TUI's Ink and React in
// dist/tui-vendor.js, the file-stats worker, the TUI bench harness).
// npm packages that are heavy or only sometimes needed stay external and load at run time.
// The bundle is written beside dist/ and swapped in by renames, so a CLI started while a
// build runs (tests in another terminal) never finds dist/ half-written.
import {build} from 'esbuild'
import {copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {join} from 'node:path'

/**
 * Trims what importing @platformatic/kafka costs (most of a Kafka page's wall time):
 * - ajv: the library validates options only with `strict: true`, which dlq never sets, yet it
 *   builds an Ajv 2020 instance (meta-schemas, ~25 ms) at import and ~40 validators (~250 ms).
 *   The instance is built, with the library's keywords, and each validator compiled, on first
 *   use instead — same validators, same errors; ajv itself is loaded from node_modules then
 *   (it is not bundled);
 * - its CRC-32C loads a native addon (@node-rs/crc32, ~9 ms) at import, node:tls (~20 ms
 *   of Node's own module compilation) is imported for TLS connections only, and node:crypto
 *   (~4 ms) for SASL/SCRAM and new ids: all are loaded on first use;
 * - its Confluent schema registry pulls in avsc (Avro), which dlq never uses: stubbed;
 * - its murmur2 takes one LRU cache from mnemonist's index of every structure: imported alone.
 * The build fails if the library's source no longer has the lines this hooks into.
 */
const KAFKA_DIST = /@platformatic[\\/]kafka[\\/]dist[\\/]/
const slimKafka = {
  name: 'slim-kafka',
  setup(b) {
    // patch(file, [from, to]...): each `from` must be in the file; a null `from` replaces it all.
    const patch = (file, ...edits) => {
      b.onLoad({filter: new RegExp(KAFKA_DIST.source + file.replace(/[./]/g, (c) => (c === '.' ? '\\.' : '[\\\\/]')) + '$')}, (args) => {
        let source = readFileSync(args.path, 'utf8')
        for (const [from, to] of edits) {
          if (from !== null && !source.includes(from)) throw new Error(`slim-kafka: ${args.path} has changed; update scripts/build.mjs`)
          const text = typeof to === 'function' ? to(args.path) : to
          source = from === null ? text : source.replace(from, text)
        }
        return {contents: source, loader: 'js'}
      })
    }
    patch(
      'utils.js',
      ["import { Ajv2020 } from 'ajv/dist/2020.js';", ''],
      [
        'export const ajv = new Ajv2020({ allErrors: true, coerceTypes: false, strict: true });',
        `let realAjv;
const keywords = [];
const makeAjv = () => {
  if (!realAjv) {
    // Not bundled (scripts/build.mjs): loaded from the library's own dependencies.
    const fromKafka = require.resolve('ajv/dist/2020.js', { paths: [require.resolve('@platformatic/kafka')] });
    const { Ajv2020 } = require(fromKafka);
    realAjv = new Ajv2020({ allErrors: true, coerceTypes: false, strict: true });
    for (const keyword of keywords) realAjv.addKeyword(keyword);
  }
  return realAjv;
};
export const ajv = {
  addKeyword(definition) {
    if (realAjv) realAjv.addKeyword(definition);
    else keywords.push(definition);
    return ajv;
  },
  compile(schema) {
    let compiled;
    const validate = (data) => {
      compiled ??= makeAjv().compile(schema);
      const ok = compiled(data);
      validate.errors = compiled.errors;
      return ok;
    };
    return validate;
  },
  errorsText(...args) {
    return makeAjv().errorsText(...args);
  },
};`,
      ],
    )
    patch('protocol/crc32c.js', ['export const crc32c = loadNativeCRC32C() ?? wasmCRC32C;', 'let crc32cImpl;\nexport function crc32c(data) {\n  crc32cImpl ??= loadNativeCRC32C() ?? wasmCRC32C;\n  return crc32cImpl(data);\n}'])
    // node:crypto (~4 ms of Node's own module compilation) serves SASL/SCRAM and the ids of
    // consumer group members and transactional producers: required on first use.
    const lazyCrypto = (names) => `const ${names.map((n) => `${n} = (...args) => require('node:crypto').${n}(...args)`).join(', ')};`
    patch('protocol/sasl/scram-sha.js', ["import { createHash, createHmac, pbkdf2, randomBytes } from 'node:crypto';", lazyCrypto(['createHash', 'createHmac', 'pbkdf2', 'randomBytes'])])
    patch('clients/consumer/consumer.js', ["import { randomUUID } from 'node:crypto';", lazyCrypto(['randomUUID'])])
    patch('clients/producer/producer.js', ["import { randomUUID } from 'crypto';", lazyCrypto(['randomUUID'])])
    patch('network/connection.js', ["import { connect as createTLSConnection } from 'node:tls';", "const createTLSConnection = (...args) => require('node:tls').connect(...args);"])
    patch(
      'registries/confluent-schema-registry.js',
      [
        null,
        `const unused = () => { throw new Error('dlq is built without the Confluent schema registry'); };
export function defaultProtobufTypeMapper() { unused(); }
export class ConfluentSchemaRegistry { constructor() { unused(); } }`,
      ],
    )
    // By file path: mnemonist's exports map offers its single modules to require() only.
    patch('protocol/murmur2.js', ["import { LRUCache } from 'mnemonist';", (path) => `import LRUCache from ${JSON.stringify(createRequire(path).resolve('mnemonist/lru-cache.js'))};`])
  },
}

/**
 * string-width builds an Intl.Segmenter and four Unicode-property regular expressions when it
 * is imported (~30 ms of CPU, a sixth of a command's start-up). Tables and the TUI measure
 * printable ASCII without it (src/output/width.ts), so most commands never call it: its
 * module body runs on the first call instead. Same function, same results.
 */
const lazyStringWidth = {
  name: 'lazy-string-width',
  setup(b) {
    b.onLoad({filter: /[\\/]node_modules[\\/]string-width[\\/]index\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const head = source.match(/^(?:import [^\n]+\n)+/)
      const exported = 'export default function stringWidth('
      if (!head || !source.includes(exported) || !source.includes('new Intl.Segmenter(')) {
        // An older string-width (oclif's, CommonJS) has no such body: leave it as it is.
        if (!source.includes('new Intl.Segmenter(')) return undefined
        throw new Error(`lazy-string-width: ${args.path} has changed; update scripts/build.mjs`)
      }
      const body = source.slice(head[0].length).replace(exported, 'return function stringWidth(')
      return {
        contents: `${head[0]}let impl;\nexport default function stringWidth(input, options) {\n  impl ??= init();\n  return impl(input, options);\n}\nfunction init() {\n${body}\n}\n`,
        loader: 'js',
      }
    })
  },
}

/**
 * What oclif loads at start-up that a dlq command never uses, loaded on first use instead:
 * tinyglobby and minimatch serve the "pattern" command discovery and plugin globs (dlq uses
 * the explicit command table and has no plugins), ejs renders help templates, cli-spinners
 * the action spinner, lilconfig reads an oclif config kept outside package.json. Each
 * `require` becomes a proxy that loads the module on its first property read. oclif's
 * start-up Node version check is dropped: in this ES module bundle it threw on `__dirname`
 * (and was silently ignored) after loading semver for nothing; package.json's engines field
 * states the supported Node versions. The build fails if these lines are no longer there.
 */
const OCLIF_LIB = /[\\/]node_modules[\\/]@oclif[\\/]core[\\/]lib[\\/]/
const LAZY_REQUIRES = {
  'config/plugin.js': ['const tinyglobby_1 = require("tinyglobby");'],
  'config/plugin-loader.js': ['const minimatch_1 = require("minimatch");'],
  'config/config.js': ['const ejs_1 = __importDefault(require("ejs"));'],
  'help/util.js': ['const ejs_1 = __importDefault(require("ejs"));'],
  'ux/action/spinner.js': ['const cli_spinners_1 = __importDefault(require("cli-spinners"));'],
  'util/read-pjson.js': ['const lilconfig_1 = require("lilconfig");'],
  // Node's own modules that are not loaded before a script runs, each a few ms to compile:
  // child_process (~3-6 ms with net and dgram) finds the parent shell on Windows only,
  // perf_hooks serves oclif's performance markers (off unless asked for), readline reads a
  // flag's value from stdin (`-`).
  'util/os.js': ['const node_child_process_1 = require("node:child_process");'],
  'performance.js': ['const node_perf_hooks_1 = require("node:perf_hooks");'],
  'parser/parse.js': ['const node_readline_1 = require("node:readline");'],
}
const slimOclif = {
  name: 'slim-oclif',
  setup(b) {
    b.onLoad({filter: new RegExp(OCLIF_LIB.source + '.*\\.js$')}, (args) => {
      const rel = args.path.split(/[\\/]@oclif[\\/]core[\\/]lib[\\/]/)[1].replace(/\\/g, '/')
      const lines = LAZY_REQUIRES[rel]
      if (!lines && rel !== 'index.js') return undefined
      let source = readFileSync(args.path, 'utf8')
      const replace = (from, to) => {
        if (!source.includes(from)) throw new Error(`slim-oclif: ${args.path} has changed (no "${from}"); update scripts/build.mjs`)
        source = source.replace(from, to)
      }
      if (rel === 'index.js') replace('\ncheckNodeVersion();\n', '\n')
      // The first localeCompare loads ICU's collator (~8 ms); dlq's command ids are lowercase
      // ASCII words with - and :, which sort the same by code unit.
      if (rel === 'config/plugin.js') replace('.sort((a, b) => a.id.localeCompare(b.id));', '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));')
      // Config.load asks wsl-utils whether this is WSL; wsl-utils (PowerShell helpers) imports
      // node:child_process, and with it net and dgram (~3-6 ms). Its isWsl is is-wsl's, asked
      // directly, and required so that esbuild bundles it in place rather than as two more
      // chunks (is-wsl and is-inside-container) that every command would load.
      if (rel === 'util/os.js') replace("(await import('wsl-utils')).isWsl ?", "require('is-wsl').default ?")
      for (const line of lines ?? []) {
        const [, name, load] = line.match(/^const (\w+) = (.*);$/)
        // An npm package is required from oclif's own dependencies when first used, not
        // bundled: V8 would otherwise parse its code (~150 KB in all) at every start.
        const fromOclif = load.replace(/require\("(?!node:)([^"]+)"\)/, (_, pkg) => `require(require.resolve(${JSON.stringify(pkg)}, {paths: [require.resolve('@oclif/core')]}))`)
        replace(line, `let ${name}__; const ${name} = new Proxy({}, {get: (_, key) => (${name}__ ??= ${fromOclif})[key]});`)
      }
      return {contents: source, loader: 'js'}
    })
  },
}

/**
 * ansis (oclif's colours) has a raw U+009B (CSI) in a regular expression, and esbuild copies
 * regular expressions as they are: one non-ASCII character makes V8 hold the whole chunk it
 * lands in (oclif's, the largest one every command loads) as a two-byte string, which it
 * decodes from UTF-8 and scans as UTF-16 at every start. `\x9b` matches the same character.
 */
const asciiAnsis = {
  name: 'ascii-ansis',
  setup(b) {
    b.onLoad({filter: /[\\/]node_modules[\\/]ansis[\\/]index\.js$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      if (!source.includes('\u009b')) throw new Error(`ascii-ansis: ${args.path} has changed; update scripts/build.mjs`)
      return {contents: source.replaceAll('\u009b', '\\x9b'), loader: 'js'}
    })
  },
}

const tmp = `dist.build-${process.pid}`
rmSync(tmp, {recursive: true, force: true})
const common = {
  outdir: tmp,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minifySyntax: true,
  minifyWhitespace: true,
  // Only oclif (and its small helpers) are bundled; typescript is an optional dev-time lookup of oclif's.
  // (The Kafka client's ajv import is gone with slim-kafka, which loads it on first use.)
  external: ['typescript', 'ioredis', '@msgpack/msgpack', 'fzstd', 'react-devtools-core'],
  // React's production build: the development one checks every render (browse's key-to-frame time).
  define: {'process.env.NODE_ENV': '"production"'},
  // browse.ts sets NODE_ENV itself before it loads React, for a run from source (tsx, tests);
  // in the bundle the define above has already decided, so that assignment is moot, not a bug.
  logOverride: {'assign-to-define': 'silent'},
  // oclif is CommonJS: give its require() calls a real require inside an ES module bundle.
  banner: {js: "import {createRequire as __dlqCreateRequire} from 'node:module'; const require = __dlqCreateRequire(import.meta.url);"},
  logLevel: 'warning',
  plugins: [slimKafka, lazyStringWidth, slimOclif, asciiAnsis],
}
/**
 * Ink and yoga-layout (the TUI) use top-level await, which a CommonJS bundle cannot hold: they
 * and the React they share are dist/tui-vendor.js, an ES module that src/tui/load.ts imports
 * before the TUI's own modules (in dist/cli.cjs) first run and take them from it.
 */
const tuiVendor = {
  name: 'tui-vendor',
  setup(b) {
    const exported = {ink: 'ink', react: 'react', 'react/jsx-runtime': 'jsxRuntime'}
    b.onResolve({filter: /^(ink|react|react\/jsx-runtime)$/}, (args) => ({path: args.path, namespace: 'tui-vendor'}))
    b.onLoad({filter: /.*/, namespace: 'tui-vendor'}, (args) => ({
      contents: `const v = globalThis[Symbol.for('dlq.tui-vendor')]; if (!v) throw new Error('dlq: the TUI modules were not loaded'); module.exports = v.${exported[args.path]};`,
      loader: 'js',
    }))
    b.onLoad({filter: /[\\/]src[\\/]tui[\\/]load\.ts$/}, (args) => {
      const source = readFileSync(args.path, 'utf8')
      const from = "return await import('./run-browse.js')"
      if (!source.includes(from)) throw new Error(`tui-vendor: ${args.path} has changed; update scripts/build.mjs`)
      return {contents: source.replace(from, `globalThis[Symbol.for('dlq.tui-vendor')] ??= await import('./tui-vendor.js');\n    ${from}`), loader: 'ts'}
    })
  },
}

/**
 * Large npm libraries only some commands use, each a CommonJS bundle of its own
 * (dist/NAME.cjs), so that the CLI bundle every command compiles stays small: the Kafka client
 * (~430 KB) and the schema decoders (protobufjs, avsc, ajv: ~470 KB). dist/cli.cjs loads one
 * when a module that imports it first runs, through bin/load-cli.js's code-cached loader (plain
 * require when dist/cli.cjs is required by something else, as scripts/manifest.mjs does).
 */
const VENDOR = {
  kafka: ['@platformatic/kafka'],
  schema: ['protobufjs', 'protobufjs/ext/descriptor/index.js', 'avsc', 'ajv'],
}
const vendorOf = new Map(Object.entries(VENDOR).flatMap(([name, specs]) => specs.map((spec) => [spec, name])))
const vendorImports = {
  name: 'vendor-imports',
  setup(b) {
    b.onResolve({filter: /^[@a-z]/}, (args) => (vendorOf.has(args.path) ? {path: args.path, namespace: 'vendor'} : undefined))
    b.onLoad({filter: /.*/, namespace: 'vendor'}, (args) => ({
      contents: `const file = require('node:path').join(__dirname, ${JSON.stringify(vendorOf.get(args.path) + '.cjs')});
module.exports = (globalThis[Symbol.for('dlq.load-cjs')] ?? require)(file)[${JSON.stringify(args.path)}];`,
      loader: 'js',
    }))
  },
}

/**
 * `import(` becomes `_dlqI_(` (same length: source map columns stay right) wherever it does
 * not follow a name character, a dot or a quote (oclif's message text "import()"). Text in a
 * string that reads `import(` after a space would be renamed too; the bundles have none. The
 * build fails if the name is taken or an `import (` is left.
 */
function finishBundle(file) {
  const text = readFileSync(file, 'utf8')
  const banner = text.slice(0, text.indexOf('\n') + 1)
  let body = text.slice(banner.length)
  if (body.includes('_dlqI_')) throw new Error(`finishBundle: ${file} already uses _dlqI_`)
  body = body.replace(/(^|[^\w$.])import\(/g, (all, before) => {
    if (before === '"' || before === "'" || before === '`') return all // "import()" in a message
    return `${before}_dlqI_(`
  })
  const left = body.match(/[^\w$."'`]import\s*\(/g)
  if (left) throw new Error(`finishBundle: ${file} still has ${left.join(', ')}`)
  // esbuild escapes non-ASCII text except in regular expressions; bin/load-cli.js reads the
  // bundle as Latin-1.
  const wide = (banner + body).search(/[^\x00-\x7f]/)
  if (wide >= 0) throw new Error(`${file}: a non-ASCII character at ${wide} (${JSON.stringify(body.slice(wide - 40, wide + 40))}); escape it in the build`)
  writeFileSync(file, banner + body)
}

const cjs = {
  ...common,
  format: 'cjs',
  outExtension: {'.js': '.cjs'},
  // Code taken from ES modules keeps its import.meta.url (the Kafka sink's createRequire,
  // wasm-utils' native.wasm, the stats worker's URL): the bundle's own file.
  // import() in code that V8 compiles for bin/load-cli.js (vm.Script) needs a callback that
  // Node 20 offers only as an experimental feature, with a warning on stderr: every import()
  // is renamed (finishBundle) to a function bin/load-cli.js provides, resolving as the
  // bundle's own import() would. The space in `import (s)` keeps the fallback, for a bundle
  // loaded by require(), from being renamed too.
  banner: {
    js: 'var __dlqImportMetaUrl = require("node:url").pathToFileURL(__filename).href; var _dlqI_ = (globalThis[Symbol.for("dlq.import")] ?? (() => (s) => import (s)))(__filename);',
  },
  define: {...common.define, 'import.meta.url': '__dlqImportMetaUrl'},
  // require.resolve calls in oclif and slim-kafka run at run time, on purpose.
  logOverride: {...common.logOverride, 'require-resolve-not-external': 'silent'},
}
// The CLI: oclif, the command table, every command, store and output module, in one CommonJS
// bundle that bin/load-cli.js compiles with a V8 code cache (one file, one compile: as ES
// modules, each of ~30 modules on a command's path cost a resolve, read, compile and link).
// esbuild's lazy module wrappers keep modules a command does not import from running.
const result = await build({
  ...cjs,
  entryPoints: {cli: 'src/cli/entry.ts'},
  external: [...common.external, './tui-vendor.js'],
  plugins: [...common.plugins, tuiVendor, vendorImports],
  metafile: Boolean(process.env.DLQ_BUILD_META),
})
finishBundle(join(tmp, 'cli.cjs'))
for (const [name, specs] of Object.entries(VENDOR)) {
  await build({
    ...cjs,
    stdin: {contents: `module.exports = {${specs.map((s) => `${JSON.stringify(s)}: require(${JSON.stringify(s)})`).join(', ')}}`, resolveDir: '.', sourcefile: `${name}-vendor.js`},
    outfile: join(tmp, `${name}.cjs`),
    outdir: undefined,
  })
  finishBundle(join(tmp, `${name}.cjs`))
}
// Code split: Ink imports react-devtools-core, which is not installed, only in development,
// from a chunk of its own.
await build({...common, entryPoints: {'tui-vendor': 'scripts/tui-vendor.mjs'}, splitting: true})
// The file-stats worker (dist/stats-worker.js; a worker has its own module instances anyway)
// and the TUI's bench harness, ES modules with chunks of their own (code split: Ink imports
// react-devtools-core, which is not installed, only in a chunk it loads in development).
await build({...common, entryPoints: {'stats-worker': 'src/backends/file/stats-worker.ts', 'tui-bench': 'src/tui/bench-harness.ts'}, splitting: true})
// DLQ_BUILD_META=FILE: esbuild's metafile of dist/cli.cjs (which module it holds, in bytes),
// for finding what grows every command's compile (esbuild's analyzer reads it too).
if (process.env.DLQ_BUILD_META) writeFileSync(process.env.DLQ_BUILD_META, JSON.stringify(result.metafile))
// @platformatic/kafka is bundled (its ~100 modules cost ~250 ms to load one by one); its
// wasm-utils dependency reads native.wasm next to the module that loads it.
copyFileSync(join('node_modules', '@platformatic', 'wasm-utils', 'dist', 'native.wasm'), join(tmp, 'native.wasm'))
const old = `dist.old-${process.pid}`
if (existsSync('dist')) renameSync('dist', old)
renameSync(tmp, 'dist')
rmSync(old, {recursive: true, force: true})
