// Builds dist/: one ES module bundle (dist/cli.js) holding oclif and the commands, with
// code-split chunks for what only some commands load (file, Kafka and Redis backends, the TUI).
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
 * - its CRC-32C loads a native addon (@node-rs/crc32, ~9 ms) at import, and node:tls (~20 ms
 *   of Node's own module compilation) is imported for TLS connections only: both are loaded
 *   on first use;
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
  // oclif is CommonJS: give its require() calls a real require inside the ES module bundle.
  banner: {js: "import {createRequire as __dlqCreateRequire} from 'node:module'; const require = __dlqCreateRequire(import.meta.url);"},
  logLevel: 'warning',
  plugins: [slimKafka, lazyStringWidth, slimOclif, asciiAnsis],
}
// The CLI alone, code-split: every command starts by loading dist/cli.js and the chunks it
// imports, and each ES module costs a resolve, a read, a compile and a link of its own.
// Built with the entry points below, the code they share with the CLI would be split out of
// dist/cli.js into more small chunks on every command's start-up path.
const result = await build({...common, entryPoints: {cli: 'src/cli/entry.ts'}, splitting: true, metafile: Boolean(process.env.DLQ_BUILD_META)})
// The file-stats worker (dist/stats-worker.js, beside the chunk that starts it; a worker has
// its own module instances anyway) and the TUI's bench harness, with chunks of their own (code
// split too: Ink imports react-devtools-core, which is not installed, only in a chunk it loads
// in development).
await build({...common, entryPoints: {'stats-worker': 'src/backends/file/stats-worker.ts', 'tui-bench': 'src/tui/bench-harness.ts'}, splitting: true})
// DLQ_BUILD_META=FILE: esbuild's metafile (which module went into which chunk, in bytes), for
// finding what a command loads before its first byte (esbuild's analyzer reads it too).
if (process.env.DLQ_BUILD_META) writeFileSync(process.env.DLQ_BUILD_META, JSON.stringify(result.metafile))
// @platformatic/kafka is bundled (its ~100 modules cost ~250 ms to load one by one); its
// wasm-utils dependency reads native.wasm next to the module that loads it.
copyFileSync(join('node_modules', '@platformatic', 'wasm-utils', 'dist', 'native.wasm'), join(tmp, 'native.wasm'))
const old = `dist.old-${process.pid}`
if (existsSync('dist')) renameSync('dist', old)
renameSync(tmp, 'dist')
rmSync(old, {recursive: true, force: true})
