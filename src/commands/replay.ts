import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {withDecoding} from '../cli/decoding.js'
import {filterFlags, filterSpec, partitionFlag, replayTargetFlags, schemaFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {confirm, interactive} from '../cli/prompt.js'
import {CancelledError, UnavailableError, UsageError} from '../core/errors.js'
import {LAYOUT_CHOICES, type LayoutChoice} from '../core/sink.js'
import {buildFilter} from '../core/filter.js'
import {loadTransform, parseEditFlags, type EditSpec} from '../core/replay/edit.js'
import {runReplay} from '../core/replay/execute.js'
import {defaultSinkUri, openLedger, openSink} from '../core/replay/open.js'
import {ExitTally} from '../core/replay/exit.js'
import {PARTITIONERS, type PartitionerName} from '../core/replay/partitioners.js'
import {PlanTally, planWindows, TIMESTAMP_POLICIES, type PlanWindow, type TimestampPolicy} from '../core/replay/plan.js'
import {openReader} from '../core/source.js'
import {DEFAULT_TABLE_ROWS, planWriter, renderPlanSummary, resultWriter, type StreamWriter} from '../output/replay.js'
import {paragraphs} from '../cli/help.js'
import {onStopSignal} from '../core/signals.js'

export default class Replay extends BaseCommand {
  static override summary = 'Send chosen DLQ messages back to their source topic, exactly once.'
  static override description = paragraphs(`Replays exactly the messages at the given positions (or, with --all, every message the
filters select) to the topic each was dead-lettered from: the original payload bytes, key and
user headers, with every convention's metadata removed, to the original partition when it is
known and exists, in DLQ order. The DLQ message itself is left in place.

A replay ledger in the DLQ's own store records each position's claim before sending and its
target offset after the store acknowledged it: replaying a position again is skipped as
already_replayed (unless --force), and an interrupted replay is finished by running the same
command again. A message whose send was in flight at a crash is looked for in the target
first, never silently sent twice.

When no source partition is recorded, a keyed message goes to the partition its original
producer's partitioner gives the key (murmur2 for Java clients, crc32 for librdkafka-based ones
such as Arroyo, Karafka and hyperi-rustlib, fnv1a for Watermill's sarama), or --partitioner.
Replayed records are stamped with the time of the replay, so topic retention does not delete
them at once (a DLQ record's own time is often weeks old); --timestamp original keeps the failed
record's own time. dlq's own settings and ledger topics/streams, and the DLQ itself, are never
targets (skipped as protected_target; --to cannot override it). Into a Redis stream, each
message is written in the layout its consumer reads (--layout auto: Watermill's for Watermill
messages, one payload field for hyperi-rustlib's, else like the stream's newest entry).

Fix before replay: --set 'payload.JSON.PATH=VALUE' changes a field of a JSON payload (VALUE is
read as JSON when it parses as JSON — 42, true, "42", {"a":1} — else taken as a string; the path
must exist; numbers keep every digit; the payload is written back as compact JSON).
--set-header NAME=VALUE sets a user header (replacing every value of that name), --drop-header NAME
removes one; a convention's metadata header cannot be set. --transform FILE.mjs runs the module's
default export on each message after the flags: it receives {position, key, payload (Buffer),
text, json, headers: [{key, value}], target: {topic, partition}, convention, reason, source,
notOriginal} and returns the record to send (change payload, text or json — one of them —, key, headers or target)
or null to skip the message (skipped_by_transform: exit 0 with --all, where the transform selects;
a position named with --offset that it skips exits 1); it may be async.
A record that does not hold the original message (notOriginal: SmallRye's key bytes written as the
value, a Kafka Streams record with neither key nor value) is skipped as not_original (exit 1) unless
the transform returns a payload of its own: what is sent is then the transform's.
A message the edits cannot be applied to (a path it lacks, a payload that is not JSON, a transform
that throws or returns something else) fails on its own (edit_failed): nothing is sent for it and
the others go on. The dry run shows each change (table: changed paths and headers; --json: before,
after and a unified patch); the ledger records that the message was replayed edited, with the
sha256 of what was sent, and a run in doubt looks in the target for those edited bytes.

Without a terminal to confirm on, --yes is required. --dry-run prints the plan and sends nothing,
and exits with the code the replay would (below) for all it can know without sending.

Exit 0 only when every requested message is now replayed (in this run or an earlier one); 4 when
a requested position or its target does not exist; 1 for anything else not replayed; 130 on Ctrl-C
(after printing what was done and how to continue).

Plans and results are written as they are made, so a replay of millions of messages runs in
flat memory: --json lists every position, a table the first ${DEFAULT_TABLE_ROWS} (--rows N or --rows all)
and, after them, up to as many that failed, followed by the summary.

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> replay kafka://127.0.0.1:9092/orders-dlt --offset 0:42 --offset 0:43 --dry-run',
    '<%= config.bin %> replay kafka://127.0.0.1:9092/orders-dlt --offset 0:42 --yes --json',
    "<%= config.bin %> replay dlq.ndjson --all --filter 'reason=timeout' --sink redis://127.0.0.1:6379 --yes",
    '<%= config.bin %> replay redis://127.0.0.1:6379/dlq --offset 1700000000000-0 --to orders-retry --rate 100 --yes',
    "<%= config.bin %> replay kafka://127.0.0.1:9092/orders-dlt --offset 0:42 --set 'payload.order.currency=\"EUR\"' --set-header fixed-by=ops --dry-run",
    '<%= config.bin %> replay dlq.ndjson --all --transform ./fix-orders.mjs --sink redis://127.0.0.1:6379 --yes',
  ]

  static override args = {source: sourceArg}
  static override flags = {
    offset: Flags.string({char: 'p', multiple: true, multipleNonGreedy: true, description: 'Position to replay (as printed by inspect); repeatable.', helpValue: 'POS'}),
    all: Flags.boolean({description: 'Replay every message the filters select (without filters: every message in the DLQ, which the confirmation says).'}),
    ...filterFlags,
    ...partitionFlag,
    ...replayTargetFlags,
    ...schemaFlags,
    'dry-run': Flags.boolean({description: 'Print the plan (each position → target, headers kept and removed) and send nothing; exits as the replay would.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (required without a terminal).', env: 'DLQ_YES'}),
    force: Flags.boolean({description: 'Replay positions the ledger says were already replayed or are in doubt.'}),
    rate: Flags.integer({description: 'Messages per second at most.', min: 1, env: 'DLQ_REPLAY_RATE'}),
    partitioner: Flags.string({options: PARTITIONERS, description: "Key hash for messages whose source partition is not recorded (default: the original producer's, per convention).", env: 'DLQ_REPLAY_PARTITIONER'}),
    timestamp: Flags.string({options: TIMESTAMP_POLICIES, default: 'now', description: "Time of the replayed records: now (the replay's), original (the failed record's own, where recorded) or dlq (the DLQ record's).", env: 'DLQ_REPLAY_TIMESTAMP'}),
    layout: Flags.string({options: LAYOUT_CHOICES, default: 'auto', description: "Redis stream targets: how each entry is laid out. auto: what the consumer reads (Watermill messages as Watermill entries, hyperi's as one payload field, others like the stream's newest entry, dlq's own layout in an empty stream).", env: 'DLQ_REPLAY_LAYOUT'}),
    set: Flags.string({multiple: true, multipleNonGreedy: true, description: 'Change a field of a JSON payload before sending: payload.JSON.PATH=VALUE (VALUE as JSON if it parses, else a string); repeatable.', helpValue: 'payload.PATH=VALUE'}),
    'set-header': Flags.string({multiple: true, multipleNonGreedy: true, description: 'Set a user header before sending (replaces every value of NAME); repeatable.', helpValue: 'NAME=VALUE'}),
    'drop-header': Flags.string({multiple: true, multipleNonGreedy: true, description: 'Remove a user header before sending; repeatable.', helpValue: 'NAME'}),
    transform: Flags.string({description: 'An ES module whose default export takes each record and returns the record to send, or null to skip it (see above).', helpValue: 'FILE.mjs', env: 'DLQ_REPLAY_TRANSFORM'}),
    rows: Flags.string({description: `Positions listed in the plan or result table (default ${DEFAULT_TABLE_ROWS}; "all" lists every one). A summary always follows; --json always lists every position.`, helpValue: 'N|all', env: 'DLQ_REPLAY_ROWS'}),
  }

  /** Set once a streamed `--json` document has been closed with the error in it. */
  private documentClosed = false

  protected override jsonRequested(): boolean {
    return !this.documentClosed && super.jsonRequested()
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Replay)
    if (!flags.all && !flags.offset?.length) throw new UsageError('nothing to replay: give --offset POS (repeatable) or --all with filters')
    if (flags.all && flags.offset?.length) throw new UsageError('use either --offset or --all, not both')
    // `--to "$TARGET"` with TARGET unset would otherwise send each message to its recorded source topic.
    if (flags.to !== undefined && flags.to.trim() === '') throw new UsageError('--to: the topic name is empty (is the variable in --to "$TARGET" set?); leave --to out to replay to the recorded source topics')
    const rows = parseRows(flags.rows)
    const filter = buildFilter(filterSpec(flags))
    const edit = await editSpec(flags)
    // Decoded values serve only --filter payload.…; what is sent are the stored bytes (or the edit's).
    const reader = await withDecoding(await openReader(withPartitions(args.source, flags.partition)), flags)
    try {
      const sink = await openSink(flags.sink ?? defaultSinkUri(args.source))
      try {
        const ledger = await openLedger(reader, args.source, flags.ledger)
        try {
          const deps = {reader, sink, ledger}
          const timestamp = flags.timestamp as TimestampPolicy
          const req = {positions: flags.offset, all: flags.all, filter, to: flags.to, force: flags.force, partitioner: (flags.partitioner ?? null) as PartitionerName | null, timestamp, layout: flags.layout as LayoutChoice, edit}
          const head = {source: reader.info.display, sink: sink.info.display, ledger: ledger.where}
          // A ledger that cannot be written stops a replay before anything is claimed; a dry run
          // (which only reads it: a ledger may be looked at where it cannot be written) says so.
          const problem = (await ledger.writeProblem?.()) ?? null
          if (problem !== null) {
            const fix = flags.ledger ? 'give --ledger a writable file path' : 'use --ledger PATH for a writable place'
            if (problem.usage) throw new UsageError(`${flags.ledger ? '--ledger' : 'replay ledger'}: ${problem.text}`)
            if (!flags['dry-run']) throw new UnavailableError(`replay ledger: ${problem.text}; ${fix}`)
            this.note(`warning: replay ledger: ${problem.text}; a real run would stop here (${fix})`)
          }
          // Ctrl-C: a dry run ends the plan between windows (the document, --json, is closed with
          // the error, exit 130); a replay stops between batches: what was acknowledged is
          // completed in the ledger, the rest is reported as not attempted, and the summary says
          // how to continue.
          const abort = new AbortController()
          const offStop = onStopSignal(() => abort.abort())
          if (flags['dry-run']) {
            const writer = planWriter(toStdout, head, {json: flags.json, rows, timestamp})
            // A dry run is a CI gate: it exits as the replay would, for all it can know without sending.
            const outcome = new ExitTally(flags.all ? 'all' : 'offsets')
            try {
              await this.streamed(writer, async () => {
                for await (const w of planWindows(deps, req, {signal: abort.signal})) {
                  if (abort.signal.aborted) break
                  for (const it of await w.plan()) {
                    outcome.addPlanned(it)
                    writer.item(it)
                  }
                  await writer.drained()
                  // A plan read from a file may never wait for I/O (stdout a file too): Ctrl-C is
                  // delivered only when the event loop turns, so it is let turn once a window.
                  await new Promise<void>((resolve) => setImmediate(resolve))
                }
                if (abort.signal.aborted) throw new CancelledError('interrupted: the plan is cut short there (a dry run sends nothing)')
              })
            } finally {
              offStop()
            }
            // A ledger the replay could not write stops it before anything is sent (exit 4, above).
            process.exitCode = problem !== null ? 4 : outcome.exitCode()
            return
          }

          // The count to confirm: an --offset list is planned once and kept; --all is counted
          // in a first pass (nothing kept) and planned again as it is sent.
          /** Whether the selection was read to its end (an interrupted --all may not have been). */
          let readAll = false
          const onEnd = () => (readAll = true)
          let windows: AsyncIterable<PlanWindow> = planWindows(deps, req, {signal: abort.signal, onEnd})
          if (!flags.yes) {
            const tally = new PlanTally(timestamp)
            const kept: PlanWindow[] = []
            for await (const w of windows) {
              const items = await w.plan()
              for (const it of items) tally.add(it)
              if (!flags.all) kept.push({positions: w.positions, plan: async () => items})
            }
            const summary = tally.summary()
            if (summary.send > 0) {
              const unfiltered = flags.all && filter.isEmpty ? ` (--all without filters: every message in the DLQ)` : ''
              this.note(renderPlanSummary(head, summary))
              await confirm(
                `Send ${summary.send} message${summary.send === 1 ? '' : 's'}${unfiltered}?`,
                `replay would send ${summary.send} message${summary.send === 1 ? '' : 's'}${unfiltered}; without a terminal to confirm on, pass --yes (or --dry-run to see the plan)`,
                abort.signal,
              )
            }
            readAll = false
            windows = flags.all ? planWindows(deps, req, {signal: abort.signal, onEnd}) : (async function* () {
              yield* kept
              onEnd()
            })()
          }

          const writer = resultWriter(toStdout, {json: flags.json, rows})
          const outcome = new ExitTally(flags.all ? 'all' : 'offsets')
          // A progress line on the terminal, unless results stream onto that same terminal
          // as they come (--json, --rows all); a table of N rows is printed at the end.
          const progress = interactive() && !(process.stdout.isTTY && (flags.json || rows === null))
          await this.streamed(writer, () =>
            runReplay(windows, deps, {
              rate: flags.rate,
              force: flags.force,
              forgetDone: true,
              signal: abort.signal,
              onItem: (r) => {
                outcome.add(r)
                writer.item(r)
              },
              drained: () => writer.drained(),
              onProgress: progress ? (done, total) => process.stderr.write(`\rreplaying… ${done}/${total}`) : undefined,
            }).finally(() => {
              offStop()
              if (progress) process.stderr.write('\n')
            }),
          )
          if (abort.signal.aborted) {
            this.note(outcome.interrupted(readAll))
            process.exitCode = 130
            return
          }
          const {failed} = writer.counts
          if (failed > 0) this.note(`${failed} position${failed === 1 ? '' : 's'} failed; run the same command again to finish (nothing acknowledged is sent twice)`)
          process.exitCode = outcome.exitCode()
        } finally {
          await ledger.close()
        }
      } finally {
        await sink.close()
      }
    } finally {
      await reader.close()
    }
  }

  /** Runs `work` feeding `writer`; an error part-way closes what was written before it is reported. */
  private async streamed(writer: StreamWriter<unknown>, work: () => Promise<unknown>): Promise<void> {
    try {
      await work()
    } catch (error) {
      if (writer.started) {
        writer.fail(error as Error)
        this.documentClosed = true
      }
      throw error
    }
    writer.end()
  }
}

const toStdout = (text: string) => process.stdout.write(text)

/** The fix-before-replay flags, checked (and the transform loaded) before anything is opened. */
async function editSpec(flags: {set?: string[]; 'set-header'?: string[]; 'drop-header'?: string[]; transform?: string}): Promise<EditSpec> {
  const spec = parseEditFlags({set: flags.set, setHeader: flags['set-header'], dropHeader: flags['drop-header']})
  const t = flags.transform ? await loadTransform(flags.transform) : null
  return {...spec, transform: t?.fn ?? null, transformName: t?.name ?? null}
}

/** `--rows N` or `--rows all`. */
function parseRows(value: string | undefined): number | null {
  if (value === undefined) return DEFAULT_TABLE_ROWS
  if (value === 'all') return null
  if (!/^\d+$/.test(value)) throw new UsageError(`--rows ${value}: give a number of rows or "all"`)
  return Number(value)
}
