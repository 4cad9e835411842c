import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { GraftError } from '../errors.js';

/** How records are laid out in the file, before we look at what the records mean. */
export type Container = 'jsonl' | 'json-array' | 'csv' | 'tsv' | 'txt';

const SNIFF_BYTES = 64 * 1024;

/**
 * Reads the head of the file once to refuse what no reader can use (missing, empty, binary) with a message
 * that names the file, and to pick the container from the extension and, where that is ambiguous, the content.
 */
export async function sniffContainer(file: string): Promise<Container> {
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new GraftError('BAD_INPUT', `${file} is not a file`, { file });
    size = st.size;
  } catch (err) {
    if (err instanceof GraftError) throw err;
    throw new GraftError('NOT_FOUND', `dataset file ${file} does not exist or cannot be read`, { file, cause: err });
  }
  if (size === 0) throw new GraftError('BAD_INPUT', `dataset file ${file} is empty (0 bytes)`, { file });

  const head = await readHead(file, Math.min(size, SNIFF_BYTES));
  checkText(head, file, size <= SNIFF_BYTES);
  const text = new TextDecoder('utf-8').decode(head);
  const firstChar = text.replace(/^\uFEFF/, '').trimStart()[0];
  if (firstChar === undefined) throw new GraftError('BAD_INPUT', `dataset file ${file} is empty (only whitespace)`, { file });

  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.csv') return 'csv';
  if (ext === '.tsv') return 'tsv';
  if (ext === '.txt' || ext === '.md') return 'txt';
  // .json and unknown extensions: the content decides (a .json file is often JSONL in practice).
  if (firstChar === '[') return 'json-array';
  if (firstChar === '{') return 'jsonl';
  if (ext === '.json')
    throw new GraftError('BAD_INPUT', `${file} does not start with '[' or '{', so it is not JSON`, { file, where: 'line 1' });
  return 'txt';
}

async function readHead(file: string, n: number): Promise<Uint8Array> {
  const fh = await open(file, 'r');
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** NUL bytes or invalid UTF-8 in the head mean a binary file (model weights, an archive, a spreadsheet). */
function checkText(head: Uint8Array, file: string, whole: boolean): void {
  const nul = head.indexOf(0);
  if (nul >= 0) throw binary(file, `a NUL byte at offset ${nul}`);
  // A multi-byte character may be cut at the end of the sniffed window: drop up to 3 trailing bytes then.
  let end = head.length;
  if (!whole) while (end > 0 && head.length - end < 3 && (head[end - 1] & 0xc0) === 0x80) end--;
  if (!whole && end > 0 && head[end - 1] >= 0xc0) end--;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, end));
  } catch {
    throw binary(file, 'bytes that are not UTF-8 text');
  }
}

function binary(file: string, why: string): GraftError {
  return new GraftError(
    'BAD_FILE',
    `${file} looks like a binary file (${why}); datasets must be UTF-8 text: JSONL, JSON, CSV, TSV or TXT`,
    { file },
  );
}
