/**
 * Seeded fuzzing of every reader of the user's files (issue 15, acceptance 1): mutated safetensors, GGUF
 * models, GGUF LoRAs, PEFT folders, adapter zips, JSONL/CSV/JSON datasets. Each case must either be refused
 * with a GraftError naming the file (no crash, no INTERNAL, no control characters, within a time bound) or be
 * accepted with exactly what a strict reference reader sees: safetensors bytes by the format's own rules,
 * zip members by their CRC-32, dataset rows only from lines that are valid UTF-8.
 * Bounded for CI; see mutate.ts for the seed and the scale of a longer run.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { strToU8, zipSync } from 'fflate';
import { afterAll, describe, expect, it } from 'vitest';
import { openDataset } from '../../src-main/engine/data/readers.js';
import { openGguf } from '../../src-main/engine/io/gguf.js';
import { readGgufLora, writeGgufLora } from '../../src-main/engine/io/gguf-lora.js';
import { openModelSource, readHfConfig } from '../../src-main/engine/io/model-source.js';
import { readPeftAdapter } from '../../src-main/engine/io/peft.js';
import { openSafetensors, SAFETENSORS_DTYPE_BYTES } from '../../src-main/engine/io/safetensors.js';
import { importAdapter } from '../../src-main/store/import.js';
import { AdapterLibrary } from '../../src-main/store/library.js';
import { extractAdapterZip } from '../../src-main/store/zip-import.js';
import { SEED, cases, mutate, mutateText, refusesCleanly, rng } from './mutate.js';

const FIX = '/work/shared/fixtures/hf-reference';
const STORIES = '/work/shared/models/stories260K/stories260K.gguf';
const root = mkdtempSync(path.join(os.tmpdir(), 'graft-fuzz-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The safetensors rules as the reference implementation states them; null where it would refuse. */
function strictSafetensors(b: Uint8Array): Map<string, Uint8Array> | null {
  if (b.length < 8) return null;
  const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
  if (8 + n > b.length) return null;
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(b.subarray(8, 8 + n)));
  } catch {
    return null;
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) return null;
  const entries = Object.entries(header).filter(([k]) => k !== '__metadata__');
  const sizes = SAFETENSORS_DTYPE_BYTES as Record<string, number>;
  for (const [, e] of entries) {
    if (!e || !(e.dtype in sizes) || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets)) return null;
    const [a, z] = e.data_offsets;
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(z) || z < a) return null;
    if (e.shape.reduce((x, y) => x * y, 1) * sizes[e.dtype] !== z - a) return null;
  }
  entries.sort((x, y) => x[1].data_offsets[0] - y[1].data_offsets[0]);
  let at = 0;
  for (const [, e] of entries) {
    if (e.data_offsets[0] !== at) return null;
    at = e.data_offsets[1];
  }
  if (at !== b.length - 8 - n) return null;
  return new Map(entries.map(([k, e]) => [k, b.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1])]));
}

/** Offsets worth aiming at: the first bytes and the end of a safetensors or GGUF header. */
const headerSpots = (b: Uint8Array) => [0, 8, 16, 24, 32, Math.min(b.length - 8, Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)) + 4)];

describe(`parser fuzz (seed ${SEED})`, () => {
  it('safetensors: refused cleanly, or read exactly as the format rules read it', async () => {
    const src = readFileSync(`${FIX}/llama/adapter/adapter_model.safetensors`);
    const r = rng(1);
    for (let i = 0; i < cases(400); i++) {
      const { bytes, what } = mutate(r, src, headerSpots(src));
      const file = path.join(root, `st-${i}.safetensors`);
      writeFileSync(file, bytes);
      const label = `safetensors case ${i} (${what})`;
      const f = await refusesCleanly(() => openSafetensors(file), file, label);
      if (!f) continue;
      const want = strictSafetensors(bytes);
      expect(want, `${label}: accepted, but the reference refuses it`).not.toBeNull();
      expect(f.names().sort(), label).toEqual([...want!.keys()].sort());
      for (const n of f.names()) expect(Buffer.compare(f.readRaw(n), Buffer.from(want!.get(n)!)), `${label}: tensor ${n}`).toBe(0);
      f.close();
    }
  });

  it('GGUF models: refused cleanly naming the file, or every tensor readable at its size', async () => {
    const src = readFileSync(STORIES);
    const r = rng(2);
    for (let i = 0; i < cases(120); i++) {
      const { bytes, what } = mutate(r, src, [0, 4, 8, 16, 24, 40, 64, 128, 256, 1024, 4096]);
      const file = path.join(root, `m-${i}.gguf`);
      writeFileSync(file, bytes);
      const label = `GGUF case ${i} (${what})`;
      const g = await refusesCleanly(() => openGguf(file), file, label);
      if (g) {
        for (const n of g.names()) {
          const t = g.info(n);
          const data = await refusesCleanly(() => g.readF32(n), file, `${label}: tensor ${n}`);
          if (data) expect(data.length, `${label}: tensor ${n}`).toBe(t.dims.reduce((a, b) => a * b, 1));
        }
        g.close();
      }
      const m = await refusesCleanly(() => openModelSource(file), file, `${label} as a model`);
      m?.close();
      rmSync(file);
    }
  });

  it('GGUF LoRAs: refused cleanly naming the file, or alpha and factors usable', async () => {
    const base = readHfConfig(`${FIX}/llama/model/config.json`);
    const good = path.join(root, 'lora.gguf');
    await writeGgufLora(good, readPeftAdapter(`${FIX}/llama/adapter`), base);
    const src = readFileSync(good);
    const r = rng(3);
    for (let i = 0; i < cases(150); i++) {
      const { bytes, what } = mutate(r, src, [0, 8, 16, 24, 40, 64, 128, 256]);
      const file = path.join(root, `l-${i}.gguf`);
      writeFileSync(file, bytes);
      const label = `GGUF LoRA case ${i} (${what})`;
      const a = await refusesCleanly(() => readGgufLora(file, base), file, label);
      if (a) expect(Number.isFinite(a.config.lora_alpha), `${label}: alpha ${a.config.lora_alpha}`).toBe(true);
    }
  });

  it('adapter zips: refused cleanly naming the zip, or every member extracted byte for byte', async () => {
    const files = { 'adapter_config.json': readFileSync(`${FIX}/llama/adapter/adapter_config.json`), 'adapter_model.safetensors': readFileSync(`${FIX}/llama/adapter/adapter_model.safetensors`) };
    const r = rng(4);
    for (let i = 0; i < cases(150); i++) {
      const src = zipSync(files, { level: i % 2 ? 0 : 6 });
      const { bytes, what } = mutate(r, src, [0, 14, 18, 22, 26, 30, src.length - 22, src.length - 46 - 60]);
      const zip = path.join(root, `z-${i}.zip`);
      const dest = path.join(root, `z-${i}`);
      writeFileSync(zip, bytes);
      mkdirSync(dest);
      const label = `zip case ${i} (${what})`;
      const names = await refusesCleanly(() => extractAdapterZip(zip, dest), zip, label);
      for (const n of names ?? []) expect(Buffer.compare(readFileSync(path.join(dest, n)), files[n as keyof typeof files]), `${label}: ${n}`).toBe(0);
      rmSync(dest, { recursive: true });
    }
  });

  it('PEFT folders: refused cleanly naming the folder, or imported', async () => {
    const lib = await AdapterLibrary.open(path.join(root, 'lib'));
    const cfg = readFileSync(`${FIX}/llama/adapter/adapter_config.json`);
    const weights = readFileSync(`${FIX}/llama/adapter/adapter_model.safetensors`);
    const r = rng(5);
    for (let i = 0; i < cases(80); i++) {
      const dir = path.join(root, `peft-${i}`);
      mkdirSync(dir);
      const onConfig = i % 2 === 0;
      const { bytes, what } = onConfig ? mutateText(r, cfg) : mutate(r, weights, headerSpots(weights));
      writeFileSync(path.join(dir, 'adapter_config.json'), onConfig ? bytes : cfg);
      writeFileSync(path.join(dir, 'adapter_model.safetensors'), onConfig ? weights : bytes);
      await refusesCleanly(() => importAdapter(lib, dir, { name: `a${i}` }), dir, `PEFT case ${i} (${onConfig ? 'config' : 'weights'}: ${what})`);
    }
  });

  describe('datasets', () => {
    const chats = Array.from({ length: 40 }, (_, i) =>
      JSON.stringify({ messages: [{ role: 'user', content: `question ${i} "quoted", é` }, { role: 'assistant', content: `answer ${i}` }] }),
    );
    const sources: Record<string, Uint8Array> = {
      jsonl: strToU8(chats.join('\n') + '\n'),
      json: strToU8(`[\n${chats.join(',\n')}\n]\n`),
      csv: strToU8(['prompt,response', ...Array.from({ length: 40 }, (_, i) => `"q ${i}, ""quoted""",a ${i} é`)].join('\n') + '\n'),
    };
    for (const [ext, src] of Object.entries(sources)) {
      it(`${ext}: refused cleanly, or rows kept only from lines that are valid UTF-8`, async () => {
        const r = rng(6 + ext.length);
        for (let i = 0; i < cases(120); i++) {
          const { bytes, what } = mutateText(r, src);
          const file = path.join(root, `d-${i}.${ext}`);
          writeFileSync(file, bytes);
          const label = `${ext} case ${i} (${what})`;
          const lines = Buffer.from(bytes).toString('latin1').split('\n');
          const validLine = (n: number) => {
            try {
              new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(lines[n - 1] ?? '', 'latin1'));
              return true;
            } catch {
              return false;
            }
          };
          await refusesCleanly(
            async () => {
              const ds = await openDataset(file);
              for await (const row of ds.rows()) {
                if ('row' in row) expect(validLine(row.line), `${label}: row kept from line ${row.line}, which is not UTF-8`).toBe(true);
                else expect(row.line, label).toBeGreaterThan(0);
              }
            },
            file,
            label,
          );
        }
      });
    }
  });
});
