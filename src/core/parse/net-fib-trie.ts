// /proc/<pid>/net/fib_trie: the IPv4 routing tries of a network namespace. Its local addresses are the leaves
// marked `/32 host LOCAL` (the address is the `|--` line above); every address shows in both the Main and the
// Local table, so they are deduplicated.
import { ParseError } from '../errors.js';

const LEAF = /^\s*\|-- (\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})\s*$/;
const LOCAL = /^\s*\/32 host LOCAL\s*$/;

/** The local IPv4 addresses listed in `net/fib_trie`, sorted; throws ParseError on a line it does not know. */
export function parseFibTrieLocal(text: string, file = 'net/fib_trie'): string[] {
  const out = new Set<string>();
  let leaf: string | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const m = LEAF.exec(line);
    if (m) { leaf = m[1]; continue; }
    if (LOCAL.test(line)) {
      if (leaf === undefined) throw new ParseError(file, i + 1, 'a LOCAL entry before any address');
      out.add(leaf);
      continue;
    }
    // Table names, inner nodes (`+-- a.b.c.d/n …`) and other route entries (`/24 link UNICAST`).
    if (/^(Main|Local|Id [0-9a-f]+):$/.test(line) || /^\s*\+-- /.test(line) || /^\s*\/\d{1,2} \w+ \w+/.test(line)) continue;
    throw new ParseError(file, i + 1, `unexpected line ${JSON.stringify(line.slice(0, 80))}`);
  }
  return [...out].sort();
}
