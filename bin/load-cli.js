const {closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync} = require('node:fs')
const Module = require('node:module')
const {tmpdir} = require('node:os')
const {dirname, join} = require('node:path')
const {pathToFileURL} = require('node:url')
const vm = require('node:vm')

/**
 * Loads dist/cli.cjs, the CLI as one CommonJS bundle (scripts/build.mjs), and returns its
 * exports. Parsing and compiling the bundle is most of what a command costs beyond Node's own
 * start-up, so it is compiled with a V8 code cache (Node 20 has no compile cache of its own).
 * The bundle loads the large libraries it bundles apart (dist/kafka.cjs, dist/schema.cjs) the
 * same way, through the global this sets.
 */
function loadCli() {
  globalThis[Symbol.for('dlq.load-cjs')] = loadCjs
  // The bundle's import() (renamed by scripts/build.mjs): relative to the bundle's file.
  globalThis[Symbol.for('dlq.import')] = (filename) => (specifier) =>
    import(/^\.\.?\//.test(specifier) ? pathToFileURL(join(dirname(filename), specifier)).href : specifier)
  return loadCjs(join(__dirname, '..', 'dist', 'cli.cjs'))
}

const cacheDir = process.env.DLQ_CODE_CACHE_DIR || join(tmpdir(), 'dlq-code-cache')
const disabled = process.env.DLQ_DISABLE_CODE_CACHE === '1'
const pending = []

/**
 * require(filename) for a CommonJS file, compiled with the code cache kept for it in the OS
 * temp directory (DLQ_CODE_CACHE_DIR names another; DLQ_DISABLE_CODE_CACHE=1 turns it off).
 * The module is registered where require() finds it, so oclif's require of dist/cli.cjs
 * (package.json `oclif`) gets this instance. A missing, unreadable or rejected cache only
 * means a compile without it, and the cache is then (re)written when the process exits: after
 * the command has run, so that the functions it compiled lazily are in it too. V8 checks
 * its version, flags and the source against the cache and rejects one that does not match;
 * a damaged one (checked) or one in a directory others can write to (trusted) is not used.
 */
function loadCjs(filename) {
  const cached = Module._cache[filename]
  if (cached) return cached.exports
  // Node maps stack traces through dist/*.map (--enable-source-maps) for the files its own
  // loader compiled, not for a vm.Script: the code cache gives way to readable traces.
  if (process.sourceMapsEnabled) return require(filename)
  // ASCII (scripts/build.mjs checks): read as Latin-1, which V8 takes as it is, no UTF-8 decoding.
  const source = readFileSync(filename, 'latin1')
  const cacheFile = disabled ? null : cachePath(filename)
  let cachedData
  if (cacheFile) {
    try {
      if (trusted(dirname(cacheFile))) cachedData = checked(readFileSync(cacheFile))
    } catch {
      // no cache yet
    }
  }
  // The wrapper shares the bundle's first line, so line numbers (stack traces, the source
  // map) are the bundle's own.
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename,
    cachedData,
  })
  const mod = new Module(filename, module)
  mod.filename = filename
  mod.paths = Module._nodeModulePaths(dirname(filename))
  Module._cache[filename] = mod
  try {
    script.runInThisContext()(mod.exports, Module.createRequire(filename), mod, filename, dirname(filename))
  } catch (error) {
    delete Module._cache[filename]
    throw error
  }
  mod.loaded = true
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    if (pending.length === 0) process.once('exit', writeCaches)
    pending.push([cacheFile, script])
  }
  return mod.exports
}

/**
 * The cache's name: the file's path and the runtime (Node version, architecture, flags: V8
 * rejects a cache made under other ones), the build (size, time and inode stand for the
 * source), then the command. Two checkouts, Node versions or flag sets keep caches of their
 * own instead of taking turns overwriting one; a new build's caches replace the older ones
 * (prune). Each command has its own, holding what that command compiled: with one cache for
 * all, whichever command ran first after a build (--help, say) would decide for every other.
 */
function cachePath(filename) {
  try {
    const {size, mtimeMs, ino} = statSync(filename)
    const runtime = `${process.version}|${process.arch}|${process.execArgv.join(' ')}|${process.env.NODE_OPTIONS ?? ''}`
    const command = /^[a-z][a-z-]{0,30}$/.test(process.argv[2] ?? '') ? process.argv[2] : '_'
    const name = filename.split(/[\\/]/).pop()
    return join(cacheDir, `${name}-${hash(filename)}-${hash(runtime)}-${hash(`${size}|${mtimeMs}|${ino}`)}-${command}.bin`)
  } catch {
    return null
  }
}

const NAME = /^(.+-[0-9a-f]{8}-)([0-9a-f]{8}-)([0-9a-f]{8})-[a-z_-]+\.bin$/

/**
 * Removes the caches of older builds for the same file and runtime and, beyond the newest
 * KEEP caches for the same file (other commands, flag sets, Node versions), the oldest.
 */
const KEEP = 12
function prune(file) {
  const dir = dirname(file)
  const [name, path, runtime, build] = file.slice(dir.length + 1).match(NAME) ?? []
  if (!name) return
  const others = readdirSync(dir).filter((f) => f !== name && f.startsWith(path) && NAME.test(f))
  const old = others.filter((f) => f.startsWith(path + runtime) && f.match(NAME)[3] !== build)
  const rest = others
    .filter((f) => !old.includes(f))
    .map((f) => [f, statSync(join(dir, f), {throwIfNoEntry: false})?.mtimeMs ?? 0])
    .sort((x, y) => y[1] - x[1])
    .slice(KEEP - 1)
    .map(([f]) => f)
  for (const f of [...old, ...rest]) {
    try {
      unlinkSync(join(dir, f))
    } catch {
      // another process removed it first
    }
  }
}

/**
 * A cache file is the CRC-32 of the cache, then the cache. V8 rejects a cache from another
 * version, flag set or source, and a short one, but in a release build it does not check
 * the cache's own bytes: a damaged one would crash the process, not be rejected. (zlib's
 * CRC-32: node:crypto's hashes cost ~5 ms to load before the first byte.)
 */
function checksum(data) {
  const sum = Buffer.alloc(4)
  sum.writeUInt32LE(require('node:zlib').crc32(data))
  return sum
}

/** The cache in a cache file, or undefined when the file is damaged. */
function checked(file) {
  const data = file.subarray(4)
  return file.length > 4 && checksum(data).equals(file.subarray(0, 4)) ? data : undefined
}

/**
 * A code cache is code this process would run: one in a directory that another user could
 * have written to (a shared temp directory) is not used, and none is written there.
 */
function trusted(dir) {
  try {
    const st = statSync(dir)
    return st.isDirectory() && (process.getuid === undefined || (st.uid === process.getuid() && (st.mode & 0o022) === 0))
  } catch {
    return false
  }
}

/** FNV-1a, 32 bits: names files, nothing more (a name is built before anything is read). */
function hash(text) {
  let h = 0x811c9dc5
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193)
  return (h >>> 0).toString(16).padStart(8, '0')
}

/** Written whole under a temporary name and renamed, so that a reader never sees part of one. */
function writeCaches() {
  for (const [file, script] of pending) {
    const tmp = `${file}.${process.pid}.tmp`
    try {
      mkdirSync(dirname(file), {recursive: true, mode: 0o700})
      if (!trusted(dirname(file))) continue
      const data = script.createCachedData()
      const fd = openSync(tmp, 'w')
      try {
        writeSync(fd, checksum(data))
        writeSync(fd, data)
      } finally {
        closeSync(fd)
      }
      renameSync(tmp, file)
      prune(file)
    } catch {
      try {
        unlinkSync(tmp)
      } catch {
        // nothing was written
      }
    }
  }
}

module.exports = {loadCli, loadCjs}
