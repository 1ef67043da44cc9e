// Terminal escape injection (issue #11, attack 7), for real: a process in a container sets its title to
// escape sequences and its container carries a label with a C1 control. `portolan ps` must print what the
// kernel has (/proc/<pid>/comm) in visible form, and write no byte a terminal would act on.
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, inspect, name, portolan, run, testImage } from './harness.js';

const ESC = '\u001b';
// What a terminal acts on: C0 controls but newline, DEL, C1, bidi overrides and isolates.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

beforeAll(() => { testImage(); }, 120_000);
afterAll(() => { cleanup(); });

describe('portolan ps on a host where a container names its process with escape sequences', () => {
  it('prints the kernel\'s process name escaped, and no raw control byte, as a table and as JSON', async () => {
    // The process listens, then retitles itself: comm becomes ESC[41mPWNED ESC[0m (truncated to 15 bytes by the kernel).
    const code = 'require("net").createServer().listen(8080, () => { process.title = "\\x1b[41mPWNED\\x1b[0m"; }); setInterval(() => {}, 1e6);';
    run('evil', ['--label', `note=\u009b31mred${ESC}[8mhidden`], ['node', '-e', code]);
    const pid = inspect('evil').State.Pid;
    let comm = '';
    const end = Date.now() + 20_000;
    while (Date.now() < end && !(comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trimEnd()).includes(ESC)) await new Promise((r) => setTimeout(r, 100));
    expect(comm).toContain(`${ESC}[41mPWNED`);

    const table = portolan(['ps', '-c', name('evil')]);
    expect(table.status, table.stderr).toBe(0);
    expect(table.stdout).not.toMatch(ACTIVE);
    expect(table.stderr).not.toMatch(ACTIVE);
    // The same name, visible: every ESC as \x1b.
    expect(table.stdout).toContain(`${comm.replaceAll(ESC, '\\x1b')}/${pid}`);

    const json = portolan(['ps', '--json', '-c', name('evil')]);
    expect(json.status, json.stderr).toBe(0);
    expect(json.stdout).not.toMatch(ACTIVE);
    // Escaped for the terminal, the JSON still says exactly what the kernel and Docker say.
    const doc = JSON.parse(json.stdout) as { containers: { labels: Record<string, string>; sockets: { state: string; processes: { command: string }[] }[] }[] };
    const c = doc.containers[0];
    expect(c?.labels.note).toBe(`\u009b31mred${ESC}[8mhidden`);
    expect(c?.sockets.find((s) => s.state === 'LISTEN')?.processes[0]?.command).toBe(comm);
  });
});
