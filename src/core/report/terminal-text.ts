// What portolan prints to a terminal comes from sources it does not control: a process names itself
// (/proc/<pid>/comm), a container's name and labels come from whoever started it, a malformed /proc line or a
// Docker message is echoed into a warning. Any of them can carry ESC sequences (colour, cursor moves, `\e[8m`
// to hide what follows, OSC 52 to write the clipboard), C1 controls (U+009B is a one-character CSI for
// terminals that honour C1 in UTF-8) or Unicode bidi overrides that reorder what the operator reads. These
// helpers are the one place that turns them into visible escapes; every renderer of terminal text uses them.

// C0 controls (tab and newline included: a cell or a line must stay one line), DEL, C1 controls, and the
// invisible format characters that reorder or hide text: zero-width, line/paragraph separators, bidi
// embeddings/overrides/isolates, word joiner and invisible operators, BOM, interlinear annotation marks.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;
// The same set less C0 (JSON.stringify already writes C0 as \uXXXX, and cannot leave any outside a string).
const UNSAFE_IN_JSON = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]/g;

function hex(code: number, width: number): string {
  return code.toString(16).padStart(width, '0');
}

/**
 * Escapes text from the kernel, Docker or a container for a terminal: control and invisible format
 * characters become `\xNN` (below U+0100) or `\uNNNN`, everything else is kept. Linear in the text's length.
 */
export function escapeTerminal(text: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(text)) return text;
  return text.replace(UNSAFE, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${hex(code, 2)}` : `\\u${hex(code, 4)}`;
  });
}

/**
 * Makes JSON text safe for a terminal and still the same JSON: the characters JSON.stringify leaves raw but
 * a terminal would act on (DEL, C1, bidi and invisible format characters) become `\uNNNN` escapes. They can
 * only occur inside strings, where the escape means the same character.
 */
export function escapeJsonForTerminal(json: string): string {
  UNSAFE_IN_JSON.lastIndex = 0;
  if (!UNSAFE_IN_JSON.test(json)) return json;
  return json.replace(UNSAFE_IN_JSON, (c) => `\\u${hex(c.charCodeAt(0), 4)}`);
}
