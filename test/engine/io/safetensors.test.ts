import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GraftError } from '../../../src-main/engine/errors.js';
import { encodeSafetensors, openSafetensors, writeSafetensors, type TensorToWrite } from '../../../src-main/engine/io/safetensors.js';
import { f16ToF32, f32ToF16, f32ToBf16, bf16ToF32 } from '../../../src-main/engine/io/half.js';

const FIX = '/work/shared/fixtures/hf-reference';
const tmp = () => mkdtempSync(join(tmpdir(), 'graft-st-'));

function fileWithHeader(header: unknown, dataBytes: number, lenOverride?: number): Buffer {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(lenOverride ?? json.length));
  return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
}

function expectGraftError(fn: () => unknown, code: string, ...mentions: string[]): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GraftError);
    expect((err as GraftError).code).toBe(code);
    for (const m of mentions) expect((err as GraftError).message).toContain(m);
    return;
  }
  throw new Error('expected an error');
}

describe('safetensors reader', () => {
  it('reads the fixture model lazily with HF names, shapes and values', () => {
    const f = openSafetensors(`${FIX}/llama/model/model.safetensors`);
    expect(f.has('model.embed_tokens.weight')).toBe(true);
    expect(f.info('model.embed_tokens.weight').shape).toEqual([512, 64]);
    expect(f.info('model.layers.0.self_attn.q_proj.weight').shape).toEqual([64, 64]);
    expect(f.info('model.layers.0.self_attn.k_proj.weight').shape).toEqual([32, 64]);
    const norm = f.readF32('model.norm.weight');
    expect(norm.length).toBe(64);
    // norms were randomised to 1 +- 0.1
    for (const v of norm) expect(Math.abs(v - 1)).toBeLessThan(0.5);
    f.close();
  });

  it('reads int64 ids from the reference file', () => {
    const f = openSafetensors(`${FIX}/llama/reference.safetensors`);
    expect(f.info('input_ids').dtype).toBe('I64');
    const ids = f.readInts('input_ids');
    expect(ids.length).toBe(f.info('input_ids').shape.reduce((a, b) => a * b));
    for (const id of ids) expect(id >= 0 && id < 512).toBe(true);
    const labels = f.readInts('labels');
    expect(labels).toContain(-100);
    f.close();
  });

  it('missing tensor is NOT_FOUND naming file and tensor', () => {
    const f = openSafetensors(`${FIX}/llama/model/model.safetensors`);
    expectGraftError(() => f.readF32('model.nope.weight'), 'NOT_FOUND', 'model.safetensors', 'model.nope.weight');
  });

  it('rejects corrupt files with BAD_FILE naming the file (and tensor)', () => {
    const d = tmp();
    const cases: Array<[string, Buffer, string[]]> = [
      ['short', Buffer.alloc(4), []],
      ['hdr-past-end', fileWithHeader({}, 0, 1000), ['header']],
      ['bad-json', fileWithHeader('{"a": ', 0), ['JSON']],
      ['out-of-range', fileWithHeader({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), ['w', 'truncated']],
      ['size-mismatch', fileWithHeader({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, 16), ['w', 'needs 12']],
      ['overlap', fileWithHeader({ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, 16), ['overlaps']],
      ['bad-dtype', fileWithHeader({ w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4), ['w', 'dtype']],
    ];
    for (const [name, bytes, mentions] of cases) {
      const p = join(d, `${name}.safetensors`);
      writeFileSync(p, bytes);
      expectGraftError(() => openSafetensors(p), 'BAD_FILE', p, ...mentions);
    }
  });

  it('refuses a header length one byte short (every tensor would shift by a byte), as the reference reader does', () => {
    const d = tmp();
    const [len, json, ...datas] = encodeSafetensors({ w: { dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) } });
    expect(json.at(-1)).toBe(0x20); // padded: the JSON still parses one byte short
    const short = Buffer.alloc(8);
    short.writeBigUInt64LE(BigInt(json.byteLength - 1));
    const p = join(d, 'short-header.safetensors');
    writeFileSync(p, Buffer.concat([short, json, ...datas]));
    expect(len.length).toBe(8);
    expectGraftError(() => openSafetensors(p), 'BAD_FILE', p, 'data bytes');
  });

  it('refuses gaps between tensors, bytes after the last, and a header that is not UTF-8', () => {
    const d = tmp();
    const cases: Array<[string, Buffer, string[]]> = [
      ['gap', fileWithHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, 12), ['b', 'begins at data byte 8']],
      ['trailing', fileWithHeader({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), ['4', '8 data bytes']],
      // {"a\xff":1}: a lenient decoder turns the byte into U+FFFD and reads a tensor name the file does not hold
      ['utf8', Buffer.from([8, 0, 0, 0, 0, 0, 0, 0, 0x7b, 0x22, 0x61, 0xff, 0x22, 0x3a, 0x31, 0x7d]), ['UTF-8']],
    ];
    for (const [name, bytes, mentions] of cases) {
      const p = join(d, `${name}.safetensors`);
      writeFileSync(p, bytes);
      expectGraftError(() => openSafetensors(p), 'BAD_FILE', p, ...mentions);
    }
  });

  it('never prints control characters from the file in its message', () => {
    const d = tmp();
    const p = join(d, 'ctl.safetensors');
    writeFileSync(p, fileWithHeader('x\u001b[2J\u0007', 0)); // V8 quotes the text it failed on
    const err = (() => {
      try {
        openSafetensors(p);
      } catch (e) {
        return e as GraftError;
      }
      throw new Error('expected an error');
    })();
    expect([...err.message].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)).toBe(false);
  });

  it('a truncated copy of a real file is BAD_FILE naming the tensor cut off', () => {
    const d = tmp();
    const full = readFileSync(`${FIX}/llama/model/model.safetensors`);
    const p = join(d, 'cut.safetensors');
    writeFileSync(p, full.subarray(0, full.length - 100));
    expectGraftError(() => openSafetensors(p), 'BAD_FILE', p, 'tensor ');
  });
});

describe('safetensors writer', () => {
  it('round-trips F32/F16/BF16/I64/I32 and metadata; raw bytes verbatim', async () => {
    const d = tmp();
    const p = join(d, 'out.safetensors');
    const raw = readFileSync(`${FIX}/llama/adapter/adapter_model.safetensors`);
    const src = openSafetensors(`${FIX}/llama/adapter/adapter_model.safetensors`);
    const name = src.names()[0];
    const info = src.info(name);
    const f32 = Float32Array.from([1.5, -2, 3.25, 1e-3]);
    await writeSafetensors(p, new Map<string, TensorToWrite>([
      ['a.f32', { dtype: 'F32', shape: [2, 2], data: f32 }],
      ['a.f16', { dtype: 'F16', shape: [4], data: f32 }],
      ['a.bf16', { dtype: 'BF16', shape: [4], data: f32 }],
      ['ids', { dtype: 'I64', shape: [3], data: BigInt64Array.from([1n, -100n, 7n]) }],
      ['i32', { dtype: 'I32', shape: [2], data: Int32Array.from([5, -6]) }],
      [name, { dtype: info.dtype, shape: info.shape, data: src.readRaw(name) }],
    ]), { format: 'pt' });
    expect(readdirSync(d)).toEqual(['out.safetensors']); // no temp file left behind
    const f = openSafetensors(p);
    expect(f.metadata).toEqual({ format: 'pt' });
    expect(Array.from(f.readF32('a.f32'))).toEqual(Array.from(f32));
    expect(f.info('a.f32').shape).toEqual([2, 2]);
    const h = f.readF32('a.f16');
    for (let i = 0; i < 4; i++) expect(h[i]).toBeCloseTo(f32[i], 3);
    const b = f.readF32('a.bf16');
    for (let i = 0; i < 4; i++) expect(Math.abs(b[i] - f32[i])).toBeLessThanOrEqual(Math.abs(f32[i]) / 128);
    expect(f.readInts('ids')).toEqual([1, -100, 7]);
    expect(f.readInts('i32')).toEqual([5, -6]);
    expect(Buffer.compare(f.readRaw(name), src.readRaw(name))).toBe(0);
    expect(raw.length).toBeGreaterThan(0);
    // header is padded to a multiple of 8 so tensor data starts aligned
    expect(Number(readFileSync(p).readBigUInt64LE(0)) % 8).toBe(0);
  });

  it('refuses data that does not match dtype*shape', () => {
    expectGraftError(() => encodeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } }), 'BAD_INPUT', 'w');
  });
});

describe('half conversions', () => {
  it('f16 and bf16 round trip exactly through f32 for every bit pattern', () => {
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >> 10) & 0x1f;
      if (exp === 31 && (h & 0x3ff)) continue; // NaN payloads
      expect(f32ToF16(f16ToF32(h))).toBe(h);
    }
    for (let b = 0; b < 0x10000; b += 7) {
      if (((b >> 7) & 0xff) === 0xff && (b & 0x7f)) continue;
      expect(f32ToBf16(bf16ToF32(b))).toBe(b);
    }
  });
  it('rounds to nearest even', () => {
    expect(f16ToF32(f32ToF16(1 + 2 ** -11))).toBe(1); // tie -> even
    expect(f16ToF32(f32ToF16(1 + 3 * 2 ** -11))).toBe(1 + 2 ** -9);
    expect(f16ToF32(f32ToF16(65520))).toBe(Infinity);
    expect(f16ToF32(f32ToF16(2 ** -25 * 1.5))).toBe(2 ** -24);
  });
});
