// The CLI's workload verbs: ls, inspect, start, stop, restart, rm, logs, stats, approve.
// Nothing here loads zod or the contract: a workload verb starts with commander and one request.
import type { Command } from 'commander';
import { action, connect, printJson, withCommonOptions, type CommonFlags } from './command-kit';
import { printLogLine, statsSummary, workloadJson, workloadSummary, workloadTable } from './format';

export function registerWorkloadCommands(program: Command): void {
  withCommonOptions(program.command('ls').alias('list').description('list workloads')).action(
    action(async (flags: CommonFlags) => {
      const workloads = await connect(flags).command('workload.list', {});
      if (flags.json) printJson(workloads.map(workloadJson));
      else console.log(workloadTable(workloads));
    }),
  );

  withCommonOptions(
    program
      .command('inspect')
      .argument('<name>', 'workload name or id')
      .description('show one workload and how to connect'),
  ).action(
    action(async (name: string, flags: CommonFlags) => {
      const w = await connect(flags).command('workload.get', { ref: name });
      if (flags.json) printJson(workloadJson(w));
      else console.log(workloadSummary(w));
    }),
  );

  for (const verb of ['start', 'stop', 'restart'] as const) {
    const what = {
      start: 'start a stopped workload',
      stop: 'stop a workload (data is kept)',
      restart: 'restart a workload',
    }[verb];
    withCommonOptions(
      program.command(verb).argument('<name>', 'workload name or id').description(what),
    ).action(
      action(async (name: string, flags: CommonFlags) => {
        const w = await connect(flags).command(`workload.${verb}`, { ref: name });
        if (flags.json) printJson(workloadJson(w));
        else console.log(`${w.name}: ${w.status}${w.message ? ` (${w.message})` : ''}`);
      }),
    );
  }

  withCommonOptions(
    program
      .command('rm')
      .argument('<name>', 'workload name or id')
      .option('--volumes', 'also remove its volumes (its data)')
      .description('delete a workload'),
  ).action(
    action(async (name: string, flags: CommonFlags & { volumes?: boolean }) => {
      const result = await connect(flags).command('workload.delete', {
        ref: name,
        volumes: flags.volumes === true,
      });
      if (flags.json) printJson(result);
      else console.log(`Removed ${name}${result.volumesRemoved ? ' and its volumes' : ''}`);
    }),
  );

  withCommonOptions(
    program
      .command('logs')
      .argument('<name>', 'workload name or id')
      .option('--tail <n>', 'how many recent lines', '200')
      .option('-f, --follow', 'keep printing new lines')
      .description('print the workload logs'),
  ).action(
    action(async (name: string, flags: CommonFlags & { tail: string; follow?: boolean }) => {
      const tail = Number(flags.tail);
      if (!/^\d+$/.test(flags.tail) || tail > 10_000) {
        const { LatticeError } = await import('../../../shared/errors');
        throw new LatticeError(
          'invalid_argument',
          `--tail ${flags.tail}: must be a whole number from 0 to 10000`,
        );
      }
      const client = connect(flags);
      if (flags.follow) {
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          await client.followLogs(name, tail, (line) => printLogLine(line, flags.json === true), stop.signal);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
        return;
      }
      const { lines } = await client.command('workload.logs', { ref: name, tail });
      if (flags.json) printJson({ lines });
      else for (const line of lines) printLogLine(line, false);
    }),
  );

  withCommonOptions(
    program
      .command('stats')
      .argument('<name>', 'workload name or id')
      .description('CPU, memory and network now'),
  ).action(
    action(async (name: string, flags: CommonFlags) => {
      const stats = await connect(flags).command('workload.stats', { ref: name });
      if (flags.json) printJson(stats);
      else console.log(statsSummary(name, stats));
    }),
  );

  withCommonOptions(
    program
      .command('approve')
      .argument('<name>', 'workload name or id')
      .description('approve a remote deploy waiting for the owner'),
  ).action(
    action(async (name: string, flags: CommonFlags) => {
      const w = await connect(flags).command('workload.approve', { ref: name });
      if (flags.json) printJson(workloadJson(w));
      else console.log(`${w.name}: ${w.status}`);
    }),
  );
}
