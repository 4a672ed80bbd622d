import type {Command} from 'ioredis'

/**
 * Commands encoded by dlq rather than by the client. ioredis encodes a command argument by
 * argument (a list of pieces, each measured twice, then copied into a new buffer); a replay
 * sends a thousand messages' fields in one command, so that per-argument work was a tenth of
 * replay's CPU. Here the lengths are taken once and every argument is copied once into one
 * buffer, which ioredis then writes and answers like any command of its own.
 */

const CR = 13
const LF = 10
const DOLLAR = 36
const STAR = 42

/** The RESP array of bulk strings for `args` (the command name first), as one buffer. */
export function encodeCommand(args: ReadonlyArray<string | Buffer>): Buffer {
  const n = args.length
  const lengths = new Array<number>(n)
  let total = 1 + digits(n) + 2
  for (let i = 0; i < n; i++) {
    const a = args[i]
    const len = typeof a === 'string' ? (a.length <= SHORT && ascii(a) ? a.length : Buffer.byteLength(a, 'utf8')) : a.length
    lengths[i] = len
    total += 1 + digits(len) + 2 + len + 2
  }
  const buf = Buffer.allocUnsafe(total)
  buf[0] = STAR
  let o = writeDecimal(buf, 1, n)
  buf[o++] = CR
  buf[o++] = LF
  for (let i = 0; i < n; i++) {
    const a = args[i]
    const len = lengths[i]
    buf[o++] = DOLLAR
    o = writeDecimal(buf, o, len)
    buf[o++] = CR
    buf[o++] = LF
    if (typeof a !== 'string') buf.set(a, o)
    else if (len === a.length && len <= SHORT) for (let j = 0; j < len; j++) buf[o + j] = a.charCodeAt(j)
    else buf.write(a, o, len, 'utf8')
    o += len
    buf[o++] = CR
    buf[o++] = LF
  }
  return buf
}

/**
 * Field names and counts are short ASCII strings: copied char by char, they skip the native
 * call that Buffer's string writes make (the bigger part of their cost at this size).
 */
const SHORT = 32

function ascii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false
  return true
}

function digits(n: number): number {
  let d = 1
  while (n >= 10) {
    n = Math.floor(n / 10)
    d++
  }
  return d
}

/** Writes a non-negative integer in ASCII at `at`; returns the offset after it. */
function writeDecimal(buf: Buffer, at: number, n: number): number {
  const end = at + digits(n)
  let o = end
  do {
    buf[--o] = 48 + (n % 10)
    n = Math.floor(n / 10)
  } while (n > 0)
  return end
}

type CommandClass = typeof Command

/**
 * An ioredis command whose bytes were encoded by `encodeCommand`: the client queues it and
 * resolves it with its reply (as UTF-8 strings) like its own commands. `name` is the command's
 * name for the client's bookkeeping (flags such as "blocking" or "subscriber" are looked up by it).
 */
export function encodedCommand(CommandCtor: CommandClass, name: string, wire: Buffer): Command {
  const command = new CommandCtor(name, [], {replyEncoding: 'utf8'})
  // Handed over once, then let go: the command lives until its reply (often long enough to
  // reach V8's old generation), and bytes it kept would be freed only by a full collection.
  let bytes: Buffer | null = wire
  // A second write would be a resend after a reconnect, which dlq's connections never make
  // (a resent batch would be sent twice).
  command.toWritable = () => {
    if (bytes === null) throw new Error(`${name}: an encoded command is written only once`)
    const b = bytes
    bytes = null
    return b
  }
  return command
}
