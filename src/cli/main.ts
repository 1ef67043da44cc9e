#!/usr/bin/env node
// Entry point of the CLI. Every usage error — commander's own included — is one line on stderr with a pointer
// to the command's --help, and exit 2; missing privileges and an unreachable Docker are one line and exit 2;
// help and --version exit 0.
import { CommanderError } from 'commander';
import { isDockerUnavailable, isFatal, isPrivilegeError } from '../collectors/index.js';
import { escapeTerminal } from '../core/report/terminal-text.js';
import { CliError, UsageError } from './common.js';
import { buildProgram } from './program.js';

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (isFatal(err)) {
    process.stderr.write(`portolan: fatal: ${(err as Error).message}\n`);
    process.exit(70);
  }
  // Help and --version went through exitOverride: they were printed, and succeed.
  if (!(err instanceof CommanderError && err.exitCode === 0)) report(err);
}

function report(err: unknown): void {
  const known = err instanceof CliError || isPrivilegeError(err) || isDockerUnavailable(err);
  if (!known) throw err;
  const hint = err instanceof UsageError ? ` (see '${err.command} --help')` : '';
  // Messages quote Docker, the agent and the kernel: escaped like everything else printed.
  process.stderr.write(`portolan: ${escapeTerminal(err.message)}${hint}\n`);
  process.exitCode = 2;
}
