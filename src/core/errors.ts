/** A malformed line in a kernel or Docker format; names the file and the 1-based line number. */
export class ParseError extends Error {
  override readonly name = 'ParseError';
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
  }
}

/** Result of parsing a multi-line format: the good records, and one ParseError per bad line. */
export interface ParseResult<T> {
  readonly records: T[];
  readonly errors: ParseError[];
}
