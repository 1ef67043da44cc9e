// Text written as UTF-8 pieces packed into buffers. At 100,000 sockets `ps --json` writes ~45 MB: gluing its pieces
// into megabyte strings (`out += piece`) made ropes that V8 then flattened and encoded again on every write; each
// piece written straight into a buffer costs about a third of that (bench/ps-100k.mjs has the figures).

/**
 * The pieces as UTF-8, packed into buffers of about `chunkBytes` (pure). A piece is never split across two buffers,
 * so each buffer is whole UTF-8 text on its own; a piece bigger than `chunkBytes` gets a buffer of its own size.
 * Every buffer yielded is new (never written again), so a consumer may keep it.
 */
export function* utf8Chunks(pieces: Iterable<string>, chunkBytes = 1 << 20): Generator<Buffer> {
  let buf = Buffer.allocUnsafe(chunkBytes);
  let used = 0;
  for (const piece of pieces) {
    // A UTF-16 code unit takes at most 3 bytes of UTF-8 (a surrogate pair 4 for 2 units; a lone one 3).
    const most = piece.length * 3;
    if (used + most > buf.length) {
      if (used > 0) yield buf.subarray(0, used);
      buf = Buffer.allocUnsafe(Math.max(chunkBytes, most));
      used = 0;
    }
    used += buf.write(piece, used, 'utf8');
  }
  if (used > 0) yield buf.subarray(0, used);
}
