/**
 * The 8B QLoRA bench's random base at a tiny shape, on the CPU: the engine takes the random NF4 and int4
 * stores with fp16 or 8-bit tables, a step trains (loss near ln V for near-uniform logits, falling), and
 * the report carries the engine's estimate and says why no GPU memory was sampled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from '../../src-main/engine/io/half.js';
import { QLORA_SHAPES, qloraBig, randomBase, tiledHalfTable } from '../../bench/qlora-8b.js';
import { syntheticSource } from '../../bench/packed-decode.js';

const cacheBefore = process.env.GRAFT_GRAPH_CACHE;
const dir = mkdtempSync(path.join(os.tmpdir(), 'graft-qlora-8b-'));
process.env.GRAFT_GRAPH_CACHE = dir;
afterAll(() => {
  if (cacheBefore === undefined) delete process.env.GRAFT_GRAPH_CACHE;
  else process.env.GRAFT_GRAPH_CACHE = cacheBefore;
  rmSync(dir, { recursive: true, force: true });
});

describe('qlora8b bench (tiny shape, CPU)', () => {
  it('--build-only builds and serializes the step graph without a session', async () => {
    const r = await qloraBig({ shape: 'tiny', scheme: 'nf4', embeddings: 'fp16', batch: 1, seq: 16, steps: 1, device: 'cpu', buildOnly: true });
    if (!('nodes' in r)) throw new Error('a step result with --build-only');
    expect(r.nodes).toBeGreaterThan(100);
    // 2 tables + 14 projections × (codes, absmax codes, scales when ≥ 1 KiB): at least the tables and the codes
    expect(r.external_files).toBeGreaterThanOrEqual(16);
  });

  it('fp16 tables hold fp16-exact values of a trained table\'s size', () => {
    const source = syntheticSource(QLORA_SHAPES.tiny, 'tiny');
    const { store, tableBytes } = randomBase(source, 'nf4', 'fp16');
    expect([...store.keys()].filter((n) => n.includes('proj')).length).toBe(2 * 7);
    expect(store.has('lm_head.weight')).toBe(false);
    expect(tableBytes).toBe(2 * 2048 * 256 * 4);
    expect(randomBase(source, 'int4', 'int8').store.get('lm_head.weight')?.scheme).toBe('int8');
    // past the 2^20-entry random block the tile repeats it; every value fp16-exact, in a trained table's range
    const t = tiledHalfTable((1 << 20) + 1000);
    expect(t[(1 << 20) + 7]).toBe(t[7]);
    const distinct = new Set<number>();
    for (let i = 0; i < t.length; i += 97) {
      expect(f16ToF32(f32ToF16(t[i]))).toBe(t[i]);
      expect(Math.abs(t[i])).toBeLessThan(2 ** -4);
      distinct.add(t[i]);
    }
    expect(distinct.size).toBeGreaterThan(1000);
  });

  it.each([
    ['nf4', 'fp16'],
    ['int4', 'int8'],
  ] as const)('%s base with %s tables trains', async (scheme, embeddings) => {
    const r = await qloraBig({ shape: 'tiny', scheme, embeddings, batch: 1, seq: 16, steps: 3, device: 'cpu' });
    if (!('losses' in r)) throw new Error('a build-only result without --build-only');
    expect(r.losses[0]).toBeGreaterThan(Math.log(2048) - 0.5);
    expect(r.losses[0]).toBeLessThan(Math.log(2048) + 0.5);
    expect(r.losses[2]).toBeLessThan(r.losses[0]);
    expect(r.train_tokens_per_s).toBeGreaterThan(0);
    expect(r.estimate_gb.total).toBeGreaterThan(0);
    expect(r.gpu_memory).toEqual({ unavailable: 'not sampled on the CPU EP' });
  });
});

