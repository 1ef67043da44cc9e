// The `portolan` command tree, apart from the entry point that runs it (so tests and completion can build it).
import { Command } from 'commander';
import { UsageError } from './common.js';
import { registerCompletion } from './completion.js';
import { registerEvents } from './events.js';
import { registerGraph } from './graph.js';
import { registerHub } from './hub.js';
import { registerPs } from './ps.js';
import { registerServe, VERSION } from './serve.js';
import { registerTop } from './top.js';

/**
 * Builds the `portolan` command line program. Every usage error commander finds becomes a UsageError naming the
 * command (one line, exit 2, at the entry point); help and --version throw commander's exit-0 error.
 */
export function buildProgram(): Command {
  const program = new Command('portolan')
    .description('See who talks to whom on a Docker host: every container\'s sockets, read from the kernel.')
    .version(VERSION)
    // Errors are printed by the entry point as one line, never with the whole help.
    .configureOutput({ outputError: () => undefined });
  registerPs(program);
  registerTop(program);
  registerGraph(program);
  registerServe(program);
  registerHub(program);
  registerEvents(program);
  registerCompletion(program);
  const override = (cmd: Command, path: string) => {
    cmd.exitOverride((err) => {
      if (err.exitCode === 0) throw err;
      throw new UsageError(err.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' '), path);
    });
    for (const sub of cmd.commands) override(sub, `${path} ${sub.name()}`);
  };
  override(program, 'portolan');
  return program;
}
