import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {filterFlags, filterSpec, partitionFlag, replayTargetFlags, sourceArg, withPartitions} from '../cli/flags.js'
import {confirm, interactive} from '../cli/prompt.js'
import {UsageError} from '../core/errors.js'
import {buildFilter} from '../core/filter.js'
import {executeReplay, replayAllStreaming, type ReplayResult} from '../core/replay/execute.js'
import {defaultSinkUri, openLedger, openSink} from '../core/replay/open.js'
import {planReplay, summarisePlan} from '../core/replay/plan.js'
import {openReader} from '../core/source.js'
import {renderPlan, renderPlanSummary, renderResult} from '../output/replay.js'
import {paragraphs} from '../cli/help.js'

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

Without a terminal to confirm on, --yes is required. --dry-run prints the plan and sends nothing.

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> replay kafka://127.0.0.1:9092/orders-dlt --offset 0:42 --offset 0:43 --dry-run',
    '<%= config.bin %> replay kafka://127.0.0.1:9092/orders-dlt --offset 0:42 --yes --json',
    "<%= config.bin %> replay dlq.ndjson --all --filter 'reason=timeout' --sink redis://127.0.0.1:6379 --yes",
    '<%= config.bin %> replay redis://127.0.0.1:6379/dlq --offset 1700000000000-0 --to orders-retry --rate 100 --yes',
  ]

  static override args = {source: sourceArg}
  static override flags = {
    offset: Flags.string({char: 'p', multiple: true, description: 'Position to replay (as printed by inspect); repeatable.', helpValue: 'POS'}),
    all: Flags.boolean({description: 'Replay every message the filters select (without filters, --yes is required).'}),
    ...filterFlags,
    ...partitionFlag,
    ...replayTargetFlags,
    'dry-run': Flags.boolean({description: 'Print the plan (each position → target, headers kept and removed) and send nothing.'}),
    yes: Flags.boolean({char: 'y', description: 'Do not ask for confirmation (required without a terminal).', env: 'DLQ_YES'}),
    force: Flags.boolean({description: 'Replay positions the ledger says were already replayed or are in doubt.'}),
    rate: Flags.integer({description: 'Messages per second at most.', min: 1, env: 'DLQ_REPLAY_RATE'}),
  }

  private finish(result: ReplayResult, json: boolean): void {
    this.out(renderResult(result, json))
    if (result.failed > 0) {
      this.note(`${result.failed} position${result.failed === 1 ? '' : 's'} failed; run the same command again to finish (nothing acknowledged is sent twice)`)
      process.exitCode = 1
    }
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Replay)
    if (!flags.all && !flags.offset?.length) throw new UsageError('nothing to replay: give --offset POS (repeatable) or --all with filters')
    const filter = buildFilter(filterSpec(flags))
    const reader = await openReader(withPartitions(args.source, flags.partition))
    try {
      const sink = await openSink(flags.sink ?? defaultSinkUri(args.source))
      try {
        const ledger = await openLedger(reader, args.source, flags.ledger)
        try {
          const deps = {reader, sink, ledger}
          if (flags.all && flags.yes && !flags['dry-run']) {
            // Nothing to show before sending: stream, so memory does not grow with the selection.
            if (flags.offset?.length) throw new UsageError('use either --offset or --all, not both')
            const result = await replayAllStreaming(deps, {filter, to: flags.to, force: flags.force}, {rate: flags.rate, force: flags.force, onProgress: interactive() ? (done) => process.stderr.write(`\rreplaying… ${done}`) : undefined})
            if (interactive()) process.stderr.write('\n')
            this.finish(result, flags.json)
            return
          }
          const plan = await planReplay(deps, {positions: flags.offset, all: flags.all, filter, to: flags.to, force: flags.force})
          if (flags['dry-run']) {
            this.out(renderPlan(plan, flags.json))
            return
          }
          const {send} = summarisePlan(plan)
          if (send > 0 && !flags.yes) {
            const unfiltered = flags.all && filter.isEmpty ? ` (--all without filters: every message in the DLQ)` : ''
            this.note(renderPlanSummary(plan))
            await confirm(
              `Send ${send} message${send === 1 ? '' : 's'}${unfiltered}?`,
              `replay would send ${send} message${send === 1 ? '' : 's'}${unfiltered}; without a terminal to confirm on, pass --yes (or --dry-run to see the plan)`,
            )
          }
          const progress = interactive() && send > 200
          const result = await executeReplay(plan, deps, {
            rate: flags.rate,
            force: flags.force,
            onProgress: progress ? (done, total) => process.stderr.write(`\rreplaying… ${done}/${total}`) : undefined,
          })
          if (progress) process.stderr.write('\n')
          this.finish(result, flags.json)
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
}
