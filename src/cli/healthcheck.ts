#!/usr/bin/env node
// The image's HEALTHCHECK: asks the agent in this container for /healthz (open without a token) on the address it
// listens on (PORTOLAN_LISTEN, as `serve` reads it; a wildcard is reached on loopback). Exit 0 when the
// collection loop is alive, 1 otherwise, with one line saying why.
import { DEFAULT_LISTEN, localUrl, parseListen } from '../server/listen.js';

async function check(): Promise<number> {
  let url: string;
  try {
    url = `${localUrl(parseListen(process.env.PORTOLAN_LISTEN ?? DEFAULT_LISTEN))}/healthz`;
  } catch (err) {
    process.stderr.write(`healthcheck: PORTOLAN_LISTEN: ${(err as Error).message}\n`);
    return 1;
  }
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
    const body = await res.text();
    process.stdout.write(`healthcheck: ${url}: HTTP ${res.status} ${body.slice(0, 200)}\n`);
    return res.ok ? 0 : 1;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    process.stderr.write(`healthcheck: ${url}: ${cause?.code ?? (err as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await check();
