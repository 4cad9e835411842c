import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'graft-stream-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CHILD = new URL('./scan-child.ts', import.meta.url).pathname;

/** Writes `mb` MiB of Alpaca records in chunks, never holding the file in memory here either. */
function writeBig(file: string, mb: number, array: boolean): number {
  const fd = openSync(file, 'w');
  const filler = 'x'.repeat(900);
  let n = 0;
  let size = 0;
  if (array) writeSync(fd, '[\n');
  while (size < mb * 2 ** 20) {
    const lines: string[] = [];
    for (let i = 0; i < 1000; i++, n++)
      lines.push(JSON.stringify({ instruction: `task ${n}`, output: `${filler} ${n}` }) + (array ? ',' : ''));
    const chunk = lines.join('\n') + '\n';
    writeSync(fd, chunk);
    size += chunk.length;
  }
  if (array) writeSync(fd, '{"instruction": "last", "output": "end"}\n]\n');
  closeSync(fd);
  return array ? n + 1 : n;
}

/**
 * Scans in a fresh process and reads that process's peak resident memory. Loading a 100 MB file whole (string
 * plus parsed rows) peaks near 290 MB there; streaming peaks at 165–173 MiB (tsx's own compiler and the
 * runtime's heap growth; measured 2026-12-02), so the limit sits between the two with room on both sides.
 */
const STREAMING_LIMIT_MIB = 220;
function scanInChild(file: string): { records: number; maxRssMiB: number } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, file], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(r.stderr);
  const { records, maxRssKiB } = JSON.parse(r.stdout) as { records: number; maxRssKiB: number };
  return { records, maxRssMiB: maxRssKiB / 1024 };
}

test('a 100 MB JSONL file streams: peak memory stays far below the file size', () => {
  const file = join(dir, 'big.jsonl');
  const n = writeBig(file, 100, false);
  expect(statSync(file).size).toBeGreaterThan(100 * 2 ** 20);
  const r = scanInChild(file);
  expect(r.records).toBe(n);
  expect(r.maxRssMiB).toBeLessThan(STREAMING_LIMIT_MIB);
}, 120_000);

test('a 100 MB JSON array streams element by element', () => {
  const file = join(dir, 'big.json');
  const n = writeBig(file, 100, true);
  const r = scanInChild(file);
  expect(r.records).toBe(n);
  expect(r.maxRssMiB).toBeLessThan(STREAMING_LIMIT_MIB);
}, 120_000);
