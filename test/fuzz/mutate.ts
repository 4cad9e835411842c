/**
 * Seeded mutations for the parser fuzz suite: what a flipped bit, a cut download, a hand edit or an attacker
 * does to a file. GRAFT_FUZZ_SEED picks the seed (reported in every failure), GRAFT_FUZZ_SCALE multiplies the
 * number of cases (1 in CI, about 2 minutes in all; `GRAFT_FUZZ_SCALE=20 npx vitest run test/fuzz` for a long run).
 */
import { SeededRng } from '../../src-main/engine/data/rng.js';
import { GraftError } from '../../src-main/engine/errors.js';

export const SEED = Number(process.env.GRAFT_FUZZ_SEED ?? 15);
export const SCALE = Math.max(1, Number(process.env.GRAFT_FUZZ_SCALE ?? 1));
export const cases = (n: number) => Math.round(n * SCALE);

export function rng(stream: number): SeededRng {
  return new SeededRng((SEED * 1000003 + stream) >>> 0);
}

const int = (r: SeededRng, n: number) => Math.floor(r.next() * n);

/** Interesting values to write over a length or count field. */
const NUMBERS = [0, 1, 7, 8, 9, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff];

/** One random mutation of `src` (never in place). `hot` marks offsets worth aiming at (headers, lengths). */
export function mutate(r: SeededRng, src: Uint8Array, hot: number[] = []): { bytes: Uint8Array; what: string } {
  const b = Uint8Array.from(src);
  const at = (): number => (hot.length && r.next() < 0.5 ? Math.min(b.length - 1, hot[int(r, hot.length)] + int(r, 8)) : int(r, b.length));
  switch (int(r, 8)) {
    case 0: {
      const i = at();
      b[i] ^= 1 << int(r, 8);
      return { bytes: b, what: `bit flip at ${i}` };
    }
    case 1: {
      const i = at();
      b[i] = int(r, 256);
      return { bytes: b, what: `byte set at ${i}` };
    }
    case 2: {
      const n = int(r, b.length);
      return { bytes: b.subarray(0, n), what: `truncated to ${n}` };
    }
    case 3: {
      const i = at();
      const v = NUMBERS[int(r, NUMBERS.length)];
      const dv = new DataView(b.buffer);
      if (i + 4 <= b.length) dv.setUint32(i, v, true);
      return { bytes: b, what: `u32 ${v} at ${i}` };
    }
    case 4: {
      const i = at();
      const n = 1 + int(r, 16);
      const out = new Uint8Array(b.length + n);
      out.set(b.subarray(0, i));
      for (let k = 0; k < n; k++) out[i + k] = int(r, 256);
      out.set(b.subarray(i), i + n);
      return { bytes: out, what: `${n} bytes inserted at ${i}` };
    }
    case 5: {
      const i = at();
      const n = 1 + int(r, 16);
      const out = new Uint8Array(Math.max(0, b.length - n));
      out.set(b.subarray(0, i));
      out.set(b.subarray(Math.min(b.length, i + n)), i);
      return { bytes: out, what: `${n} bytes deleted at ${i}` };
    }
    case 6: {
      const i = at();
      const dv = new DataView(b.buffer);
      const v = BigInt(NUMBERS[int(r, NUMBERS.length)]) * (r.next() < 0.5 ? 1n : 0x1_0000_0000n);
      if (i + 8 <= b.length) dv.setBigUint64(i, v, true);
      return { bytes: b, what: `u64 at ${i}` };
    }
    default: {
      const i = at();
      const j = at();
      [b[i], b[j]] = [b[j], b[i]];
      return { bytes: b, what: `bytes ${i} and ${j} swapped` };
    }
  }
}

/** Text mutations for datasets: quotes, line breaks, invalid UTF-8, NULs, long runs. */
export function mutateText(r: SeededRng, src: Uint8Array): { bytes: Uint8Array; what: string } {
  const pieces: Array<[string, number[]]> = [
    ['quote', [0x22]],
    ['newline', [0x0a]],
    ['CR', [0x0d]],
    ['comma', [0x2c]],
    ['lone continuation byte', [0x80]],
    ['overlong', [0xc0, 0xaf]],
    ['cut 3-byte char', [0xe2, 0x82]],
    ['surrogate', [0xed, 0xa0, 0x80]],
    ['brace', [0x7b]],
    ['bracket', [0x5d]],
    ['backslash', [0x5c]],
  ];
  if (r.next() < 0.3) return mutate(r, src);
  const [name, bytes] = pieces[int(r, pieces.length)];
  const i = int(r, src.length + 1);
  const out = new Uint8Array(src.length + bytes.length);
  out.set(src.subarray(0, i));
  out.set(bytes, i);
  out.set(src.subarray(i), i + bytes.length);
  return { bytes: out, what: `${name} inserted at ${i}` };
}

/**
 * Runs `parse`; it must either succeed or refuse with a GraftError that names `file` and carries no control
 * characters, within `boundMs`. Returns the value, or null when refused.
 */
export async function refusesCleanly<T>(parse: () => T | Promise<T>, file: string, label: string, boundMs = 10_000): Promise<T | null> {
  const t0 = performance.now();
  let value: T | null = null;
  try {
    value = await parse();
  } catch (err) {
    const fail = (why: string) => new Error(`${label}: ${why}`, { cause: err });
    if (!(err instanceof GraftError)) throw fail(`not a GraftError: ${(err as Error)?.stack ?? String(err)}`);
    if (err.code === 'INTERNAL') throw fail(`INTERNAL: ${err.message}`);
    if (!err.message.includes(file)) throw fail(`the refusal does not name ${file}: ${err.message}`);
    if ([...err.message].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) throw fail(`control characters in ${JSON.stringify(err.message)}`);
  }
  const ms = performance.now() - t0;
  if (ms > boundMs) throw new Error(`${label}: took ${ms.toFixed(0)} ms (bound ${boundMs})`);
  return value;
}
