import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdapterLibrary } from '../../src-main/store/library.js';
import { importAdapter } from '../../src-main/store/import.js';
import { extractAdapterZip } from '../../src-main/store/zip-import.js';

const ADAPTER = path.resolve(__dirname, '../../../shared/fixtures/hf-reference/llama/adapter');
const config = readFileSync(path.join(ADAPTER, 'adapter_config.json'));
const weights = readFileSync(path.join(ADAPTER, 'adapter_model.safetensors'));

let root: string;
let lib: AdapterLibrary;
beforeEach(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'graft-zip-'));
  lib = await AdapterLibrary.open(path.join(root, 'lib'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function writeZip(name: string, files: Record<string, Uint8Array>, level: 0 | 6 = 0): string {
  const p = path.join(root, name);
  writeFileSync(p, zipSync(files, { level }));
  return p;
}

/** Overwrite an entry's declared uncompressed size in both the local header and the central directory. */
function patchDeclaredSize(zip: Uint8Array, size: number): Uint8Array {
  const out = Uint8Array.from(zip);
  const dv = new DataView(out.buffer);
  for (let i = 0; i + 4 <= out.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x04034b50) dv.setUint32(i + 22, size, true);
    if (sig === 0x02014b50) dv.setUint32(i + 24, size, true);
  }
  return out;
}

/** A safetensors file whose header declares a 10 GB tensor but holds 16 bytes of data. */
function tenGigabyteHeader(): Uint8Array {
  const name = 'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight';
  const header = JSON.stringify({ [name]: { dtype: 'F32', shape: [4, 625_000_000], data_offsets: [0, 10_000_000_000] } });
  const h = Buffer.from(header.padEnd(Math.ceil(header.length / 8) * 8, ' '));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  return Buffer.concat([len, h, Buffer.alloc(16)]);
}

const entriesOfLibrary = async () => (await lib.list()).entries.length;

describe('zip import safety (acceptance 7)', () => {
  it('accepts a well-formed adapter zip, inside a folder', async () => {
    const zip = writeZip('ok.zip', { 'my adapter/adapter_config.json': config, 'my adapter/adapter_model.safetensors': weights }, 6);
    const e = await importAdapter(lib, zip);
    expect(e.meta.name).toBe('ok');
    expect(Buffer.compare(readFileSync(path.join(e.dir, 'adapter_model.safetensors')), weights)).toBe(0);
  });

  it('rejects an entry escaping the folder with ../', async () => {
    const zip = writeZip('evil.zip', { 'adapter_config.json': config, 'adapter_model.safetensors': weights, '../evil': strToU8('x') });
    await expect(importAdapter(lib, zip)).rejects.toThrow(/entry "\.\.\/evil" would be written outside the adapter folder/);
    expect(readdirSync(root)).not.toContain('evil');
    expect(await entriesOfLibrary()).toBe(0);
    expect(readdirSync(lib.stagingDir)).toHaveLength(0);
  });

  it('rejects absolute paths and nested ../ segments', async () => {
    const abs = writeZip('abs.zip', { 'adapter_config.json': config, '/etc/evil': strToU8('x') });
    await expect(importAdapter(lib, abs)).rejects.toThrow(/"\/etc\/evil" would be written outside/);
    const nested = writeZip('nested.zip', { 'a/../../evil.json': strToU8('x') });
    await expect(importAdapter(lib, nested)).rejects.toThrow(/outside the adapter folder/);
  });

  it('rejects a safetensors header declaring a 10 GB tensor, naming the tensor', async () => {
    const zip = writeZip('big.zip', { 'adapter_config.json': config, 'adapter_model.safetensors': tenGigabyteHeader() }, 6);
    await expect(importAdapter(lib, zip)).rejects.toThrow(/tensor base_model\.model\.model\.layers\.0\.self_attn\.q_proj\.lora_A\.weight ends at data byte 10000000000 but the file holds only 16/);
    expect(await entriesOfLibrary()).toBe(0);
  });

  it('rejects an entry declaring an absurd uncompressed size before extracting anything', async () => {
    const good = zipSync({ 'adapter_model.safetensors': weights, 'adapter_config.json': config }, { level: 6 });
    const p = path.join(root, 'bomb.zip');
    writeFileSync(p, patchDeclaredSize(good, 0xfff0_0000));
    const dest = mkdtempSync(path.join(root, 'x-'));
    await expect(extractAdapterZip(p, dest)).rejects.toThrow(/declares 4\.0 GiB uncompressed, more than the 4\.0 MiB allowed/);
    expect(readdirSync(dest)).toHaveLength(0);
  });

  it('stops an entry that inflates past its declared size (a lying zip bomb)', async () => {
    const bomb = zipSync({ 'adapter_config.json': new Uint8Array(3_000_000), 'adapter_model.safetensors': weights }, { level: 9 });
    const p = path.join(root, 'liar.zip');
    writeFileSync(p, patchDeclaredSize(bomb, 1000));
    await expect(importAdapter(lib, p)).rejects.toThrow(/could not be extracted \(too many bytes in the stream/);
    expect(await entriesOfLibrary()).toBe(0);
  });

  it('rejects non-adapter content: pickles, scripts, a second adapter', async () => {
    const pickle = writeZip('pickle.zip', { 'adapter_config.json': config, 'adapter_model.bin': strToU8('cos\nsystem\n') });
    await expect(importAdapter(lib, pickle)).rejects.toThrow(/"adapter_model\.bin" is not part of a PEFT LoRA adapter \(a pickle file/);
    const script = writeZip('script.zip', { 'adapter_config.json': config, 'adapter_model.safetensors': weights, 'run.sh': strToU8('rm -rf /') });
    await expect(importAdapter(lib, script)).rejects.toThrow(/"run\.sh" is not part of a PEFT LoRA adapter/);
    const two = writeZip('two.zip', { 'a/adapter_config.json': config, 'b/adapter_model.safetensors': weights });
    await expect(importAdapter(lib, two)).rejects.toThrow(/one adapter/);
    expect(await entriesOfLibrary()).toBe(0);
  });

  it('rejects a safetensors file holding tensors that are not LoRA factors', async () => {
    const header = JSON.stringify({ 'lm_head.weight': { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] } }).padEnd(80, ' ');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const zip = writeZip('other.zip', { 'adapter_config.json': config, 'adapter_model.safetensors': Buffer.concat([len, Buffer.from(header), Buffer.alloc(16)]) });
    await expect(importAdapter(lib, zip)).rejects.toThrow(/tensor lm_head\.weight is not a LoRA factor/);
  });

  it('refuses a stored member whose bytes do not match its CRC-32, naming the entry', async () => {
    const zip = zipSync({ 'adapter_config.json': config, 'adapter_model.safetensors': weights }, { level: 0 });
    const tail = Buffer.from(weights.subarray(weights.length - 64));
    const at = Buffer.from(zip).indexOf(tail);
    expect(at).toBeGreaterThan(0);
    zip[at + 10] ^= 0x01; // one flipped bit in a weight: sizes and header still look right
    const p = path.join(root, 'flipped.zip');
    writeFileSync(p, zip);
    await expect(importAdapter(lib, p)).rejects.toThrow(/flipped\.zip: entry "adapter_model\.safetensors" .*CRC-32/);
    expect(await entriesOfLibrary()).toBe(0);
  });

  it('refuses lora_alpha null at import (it could never be loaded), naming the user\'s file, not the staging copy', async () => {
    const dir = path.join(root, 'null-alpha');
    mkdirSync(dir);
    writeFileSync(path.join(dir, 'adapter_config.json'), JSON.stringify({ ...JSON.parse(config.toString()), lora_alpha: null }));
    writeFileSync(path.join(dir, 'adapter_model.safetensors'), weights);
    const err = await importAdapter(lib, dir).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(`${path.join(dir, 'adapter_config.json')}: "lora_alpha" should be a number, got null`);
    expect((err as { file?: string }).file).toBe(path.join(dir, 'adapter_config.json'));
    const zip = writeZip('null-alpha.zip', { 'adapter_config.json': readFileSync(path.join(dir, 'adapter_config.json')), 'adapter_model.safetensors': weights });
    await expect(importAdapter(lib, zip)).rejects.toThrow(`${zip} (member adapter_config.json): "lora_alpha"`);
    expect(await entriesOfLibrary()).toBe(0);
  });
});
