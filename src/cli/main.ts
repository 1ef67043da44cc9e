#!/usr/bin/env node
// Composition root of the CLI: one line per command.
import { Command } from 'commander';
import { isFatal } from '../collectors/index.js';
import { escapeTerminal } from '../core/report/terminal-text.js';
import { CliError } from './common.js';
import { registerGraph } from './graph.js';
import { registerPs } from './ps.js';
import { registerServe } from './serve.js';
import { registerTop } from './top.js';

/** Builds the `portolan` command line program. */
export function buildProgram(): Command {
  const program = new Command('portolan')
    .description('See who talks to whom on a Docker host: every container\'s sockets, read from the kernel.')
    .version('0.1.0')
    .showHelpAfterError();
  registerPs(program);
  registerTop(program);
  registerGraph(program);
  registerServe(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (isFatal(err)) {
    process.stderr.write(`portolan: fatal: ${(err as Error).message}\n`);
    process.exit(70);
  }
  if (!(err instanceof CliError)) throw err;
  // Messages quote Docker, the agent and the kernel: escaped like everything else printed.
  process.stderr.write(`portolan: ${escapeTerminal(err.message)}\n`);
  process.exitCode = 2;
}
