import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base-command.js'
import {sourceArg} from '../cli/flags.js'
import {paragraphs} from '../cli/help.js'
import {confirm, interactive} from '../cli/prompt.js'
import {CancelledError} from '../core/errors.js'
import {checkPurgeable, executePurge, openPurger, planPurge, purgeSource} from '../core/purge.js'
import {openLedger} from '../core/replay/open.js'
import {openReader} from '../core/source.js'
import {purgeJson, renderPurgePlan, renderPurgeResult} from '../output/purge.js'

export default class Purge extends BaseCommand {
  static override summary = 'Remove from a DLQ the messages its replay ledger says were replayed.'
  static override description = paragraphs(`Drains what was dealt with: removes the messages the replay ledger records as replayed
(done), and never one that was not replayed, is in doubt, or was skipped.

Redis streams: each replayed entry is deleted (XDEL); in every consumer group of the stream it
is acknowledged first (XACK), so no group keeps a pending reference to an entry that is gone.
Entries not replayed stay, wherever they are.

Kafka topics: a partition can only lose its oldest records (DeleteRecords), so each partition is
cut at its first record that was not replayed: every record below the cut was replayed; the
first one that was not (or is in doubt) and everything after it stay, replayed or not.

Files: refused (exit 2). A file DLQ belongs to the service that writes it, which rotates and
deletes its files itself.

The plan is printed first: per partition or stream, how many go, up to which offset, what stays
and why. Without a terminal it is a dry run unless --yes is given; on a terminal it asks.
dlq's own topics and streams (ledgers, settings) are never purged. The ledger is the one
replay used: the DLQ's own store, or --ledger PATH if the replay was given one (a PATH that
does not exist is a usage error, not an empty ledger).

Exit 0 when the plan was carried out (or printed, in a dry run), also when there was nothing to
delete; 2 for a file DLQ or another usage error; 4 when the DLQ or its store cannot be reached;
130 when the confirmation is declined.

${BaseCommand.exitCodesHelp}`)

  static override examples = [
    '<%= config.bin %> purge redis://127.0.0.1:6379/dlq --replayed',
    '<%= config.bin %> purge kafka://127.0.0.1:9092/orders-dlt --replayed --yes',
    '<%= config.bin %> purge kafka://127.0.0.1:9092/orders-dlt --replayed --dry-run --json',
  ]

  static override args = {source: sourceArg}
  static override flags = {
    replayed: Flags.boolean({required: true, description: 'Remove the messages the replay ledger says were replayed (required: the only kind of purge).'}),
    yes: Flags.boolean({char: 'y', description: 'Delete without asking (without a terminal, purge is a dry run unless this is given).', env: 'DLQ_YES'}),
    'dry-run': Flags.boolean({description: 'Print the plan and delete nothing.'}),
    ledger: Flags.string({description: "The replay ledger file, if the replay used --ledger PATH (default: the DLQ's own store).", helpValue: 'PATH', env: 'DLQ_LEDGER'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Purge)
    const store = purgeSource(args.source)
    const reader = await openReader(args.source)
    try {
      checkPurgeable(reader)
      const ledger = await openLedger(reader, args.source, flags.ledger, {existing: true})
      try {
        const purger = await openPurger(store)
        try {
          const deps = {reader, ledger, purger}
          const plan = await planPurge(deps)
          const act = !flags['dry-run'] && (flags.yes || interactive())
          if (!flags.json) this.out(renderPurgePlan(plan))
          if (!act) {
            if (flags.json) this.out(purgeJson(plan, null))
            else this.out(plan.delete === 0 ? 'Nothing to delete.\n' : `Dry run: nothing was deleted${flags['dry-run'] ? '' : ' (pass --yes to delete)'}.\n`)
            return
          }
          if (plan.delete === 0) {
            this.out(flags.json ? purgeJson(plan, {deleted: 0}) : 'Nothing to delete.\n')
            return
          }
          if (!flags.yes) {
            if (flags.json) this.note(renderPurgePlan(plan))
            await confirm(`Delete ${plan.delete} replayed message${plan.delete === 1 ? '' : 's'}?`, 'pass --yes').catch((error) => {
              throw error instanceof CancelledError ? new CancelledError('cancelled: nothing was deleted') : error
            })
          }
          const result = await executePurge(plan, deps)
          this.out(flags.json ? purgeJson(plan, result) : renderPurgeResult(result))
        } finally {
          await purger.close()
        }
      } finally {
        await ledger.close()
      }
    } finally {
      await reader.close()
    }
  }
}
