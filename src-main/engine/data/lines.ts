import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';

/** One line of a dataset file, 1-based, without its line break; `bad` when its bytes are not UTF-8. */
export interface TextLine {
  line: number;
  text: string;
  bad: boolean;
}

/**
 * Streams a file's lines (LF or CRLF), checking every line's bytes as UTF-8 (the sniffer sees only the
 * first 64 KiB). A bad line is still yielded, its text decoded with U+FFFD, so each reader can drop the row
 * holding it and report the row's first line; nothing altered is ever kept silently.
 */
export async function* readLines(file: string): AsyncGenerator<TextLine> {
  let carry: Buffer = Buffer.alloc(0);
  let line = 0;
  const make = (bytes: Buffer): TextLine => {
    line++;
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    let b = bytes.subarray(0, end);
    if (line === 1 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
    return { line, text: b.toString('utf8'), bad: !isUtf8(b) };
  };
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    const buf = carry.length ? Buffer.concat([carry, chunk as Buffer]) : (chunk as Buffer);
    let from = 0;
    for (let nl = buf.indexOf(0x0a, from); nl >= 0; nl = buf.indexOf(0x0a, from)) {
      yield make(buf.subarray(from, nl));
      from = nl + 1;
    }
    carry = Buffer.from(buf.subarray(from));
  }
  if (carry.length) yield make(carry);
}

export function notUtf8(line: number): string {
  return `line ${line} is not UTF-8 text`;
}
