/**
 * Hub downloads against a local HTTP server standing in for the Hugging Face Hub: the tree API, `resolve` URLs
 * with Range support, a connection that breaks mid-file, and a published checksum that does not match.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { downloadRepo, pickModelFiles, type DownloadProgressInfo } from '../../src-main/services/models/hf-download';
import { sha256, startFakeHub, type FakeHub } from './fake-hub';

const REPO = 'tiny-org/tiny-model';
const weights = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < weights.length; i++) weights[i] = (i * 2654435761) >>> 24;
const config = Buffer.from(JSON.stringify({ architectures: ['LlamaForCausalLM'], hidden_size: 8 }));

describe('Hub download (local fake Hub)', () => {
  let hub: FakeHub;
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'graft-hf-'));

  beforeAll(async () => {
    hub = await startFakeHub({ [REPO]: { 'config.json': config, 'model.safetensors': weights, 'README.md': Buffer.from('# tiny') } });
  });
  afterAll(async () => {
    await hub.close();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('picks the files a model needs and leaves the rest', () => {
    const picked = pickModelFiles([
      { path: 'config.json', size: 1 },
      { path: 'README.md', size: 1 },
      { path: 'model.safetensors', size: 1 },
      { path: 'model-q4.gguf', size: 1 },
      { path: 'onnx/model.onnx', size: 1 },
    ]);
    expect(picked.map((f) => f.path)).toEqual(['config.json', 'model.safetensors']);
    expect(() => pickModelFiles([{ path: 'a-q4.gguf', size: 1 }, { path: 'a-q8.gguf', size: 1 }])).toThrow(/choose one: a-q4.gguf, a-q8.gguf/);
  });

  it('resumes an interrupted download with a Range request and verifies the SHA-256', async () => {
    const dest = path.join(tmp, 'resume');
    hub.requests = [];
    hub.breakAfter = { file: 'model.safetensors', bytes: 1024 * 1024 + 123 };
    await expect(downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest })).rejects.toThrow(/model.safetensors: the download broke off.*resume/);
    const part = path.join(dest, 'model.safetensors.part');
    const partial = statSync(part).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(weights.length);
    expect(existsSync(path.join(dest, 'model.safetensors'))).toBe(false);

    const progress: DownloadProgressInfo[] = [];
    const r = await downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest, progressEveryMs: 0, onProgress: (p) => progress.push(p) });
    expect(hub.requests).toEqual([
      ['config.json', undefined],
      ['model.safetensors', undefined],
      ['model.safetensors', `bytes=${partial}-`],
    ]);
    expect(r.files.map((f) => path.basename(f)).sort()).toEqual(['config.json', 'model.safetensors']);
    expect(sha256(readFileSync(path.join(dest, 'model.safetensors')))).toBe(sha256(weights));
    expect(existsSync(part)).toBe(false);
    const last = progress.at(-1)!;
    expect(last.bytes).toBe(weights.length + config.length);
    expect(last.total).toBe(weights.length + config.length);
    // config.json was finished and verified by the first attempt, plus the partial weights.
    expect(last.resumedBytes).toBe(config.length + partial);
    expect(progress.some((p) => p.verifying)).toBe(true);
  });

  it('reports a checksum mismatch and removes the damaged file', async () => {
    const dest = path.join(tmp, 'bad');
    hub.wrongOid = 'f'.repeat(64);
    try {
      await expect(downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest })).rejects.toMatchObject({
        code: 'BAD_FILE',
        message: expect.stringMatching(/model\.safetensors: checksum mismatch — the Hub lists SHA-256 f{64} but the downloaded file has [0-9a-f]{64}/),
      });
    } finally {
      hub.wrongOid = null;
    }
    expect(existsSync(path.join(dest, 'model.safetensors.part'))).toBe(false);
    expect(existsSync(path.join(dest, 'model.safetensors'))).toBe(false);
  });

  it('falls back to the model-info API (siblings with blob and LFS hashes) where the tree API is missing', async () => {
    hub.treeApi = false;
    try {
      const dest = path.join(tmp, 'siblings');
      const r = await downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest });
      expect(r.files.map((f) => path.basename(f)).sort()).toEqual(['config.json', 'model.safetensors']);
      expect(sha256(readFileSync(path.join(dest, 'model.safetensors')))).toBe(sha256(weights));
      expect(readFileSync(path.join(dest, 'config.json'))).toEqual(config);
    } finally {
      hub.treeApi = true;
    }
  });

  it("verifies against the x-linked-etag header where the listing has no checksum", async () => {
    hub.hashInHeader = true;
    try {
      const ok = await downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest: path.join(tmp, 'etag') });
      expect(sha256(readFileSync(ok.files.find((f) => f.endsWith('.safetensors'))!))).toBe(sha256(weights));
      hub.wrongOid = 'a'.repeat(64);
      await expect(downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest: path.join(tmp, 'etag-bad') })).rejects.toThrow(
        /config\.json: checksum mismatch — the Hub lists SHA-256 a{64}/,
      );
    } finally {
      hub.hashInHeader = false;
      hub.wrongOid = null;
    }
  });

  it('stops writing at the listed size when a mirror sends more (issue 15 item 8)', async () => {
    hub.extraBytes = 8 * 1024 * 1024;
    try {
      const dest = path.join(tmp, 'oversize');
      await expect(downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest })).rejects.toThrow(/config\.json: the server sent more than the \d+ bytes the listing gives/);
      expect(existsSync(path.join(dest, 'config.json.part'))).toBe(false);
      expect(existsSync(path.join(dest, 'config.json'))).toBe(false);
    } finally {
      hub.extraBytes = 0;
    }
  });

  it('checks a same-size file already at the final name against the listed checksum, and replaces a wrong one', async () => {
    const dest = path.join(tmp, 'same-size');
    await downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest });
    const wrong = Buffer.from(weights);
    wrong[12345] ^= 1;
    writeFileSync(path.join(dest, 'model.safetensors'), wrong);
    hub.requests = [];
    await downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest });
    expect(hub.requests.map(([f]) => f)).toEqual(['model.safetensors']);
    expect(sha256(readFileSync(path.join(dest, 'model.safetensors')))).toBe(sha256(weights));
  });

  it('gives up on a stalled body within the stall time, keeping the part to resume', async () => {
    hub.stall = 'model.safetensors';
    try {
      const t0 = Date.now();
      await expect(downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest: path.join(tmp, 'stall'), stallMs: 400 })).rejects.toThrow(
        /model\.safetensors: no data from the server for 0\.4 s; start the download again to resume/,
      );
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(statSync(path.join(tmp, 'stall', 'model.safetensors.part')).size).toBe(1024);
    } finally {
      hub.stall = null;
    }
  });

  it('says which files were verified by size only', async () => {
    hub.noHashes = true;
    try {
      const r = await downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest: path.join(tmp, 'nohash') });
      expect(r.sizeOnly.sort()).toEqual(['config.json', 'model.safetensors']);
    } finally {
      hub.noHashes = false;
    }
    const hashed = await downloadRepo({ endpoint: hub.endpoint, repo: REPO, dest: path.join(tmp, 'hashed') });
    expect(hashed.sizeOnly).toEqual([]);
  });

  it('says clearly when the repo does not exist', async () => {
    await expect(downloadRepo({ endpoint: hub.endpoint, repo: 'nobody/nothing', dest: path.join(tmp, 'none') })).rejects.toThrow(
      /nobody\/nothing@main: no such model repo/,
    );
    await expect(downloadRepo({ endpoint: hub.endpoint, repo: '../etc', dest: path.join(tmp, 'none') })).rejects.toThrow(/not a Hub repo id/);
  });
});
