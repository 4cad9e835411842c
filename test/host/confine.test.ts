import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { confineEndpoint, confinement, confinePath, confineTable } from '../../src-main/host/confine';
import type { HandlerTable } from '../../src-main/ipc/contract';
import { dispatch } from '../../src-main/ipc/dispatch';

const home = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'graft-home-')));
mkdirSync(path.join(home, 'data'));
mkdirSync(path.join(home, '.ssh'));
writeFileSync(path.join(home, 'data', 'ok.jsonl'), '{"text":"x"}\n');
writeFileSync(path.join(home, '.ssh', 'id_ed25519'), 'secret');
symlinkSync('/etc/passwd', path.join(home, 'data', 'link-out'));
const c = confinement([home], home);

describe('browser host: path confinement (issue 15 item 7)', () => {
  it('passes paths inside the chosen folders on, resolved', () => {
    expect(confinePath(path.join(home, 'data', 'ok.jsonl'), 'path', c)).toBe(path.join(home, 'data', 'ok.jsonl'));
    expect(confinePath(path.join(home, 'data', 'new', 'out.gguf'), 'out', c)).toBe(path.join(home, 'data', 'new', 'out.gguf'));
  });

  it('refuses system files, secrets, symlinks out, .. escapes and relative paths, naming the path and field', () => {
    for (const p of ['/etc/shadow', '/etc/passwd', path.join(home, '.ssh', 'id_ed25519'), path.join(home, 'data', 'link-out'), `${home}/data/../../../etc/passwd`, 'data/ok.jsonl']) {
      expect(() => confinePath(p, 'path', c)).toThrow(expect.objectContaining({ code: 'BAD_INPUT', where: 'path', message: expect.stringContaining(p) }));
    }
  });

  it("passes the app's own listed files (the bundled demo model) wherever they are, and nothing beside them", () => {
    const app = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'graft-app-')));
    const demo = path.join(app, 'demo.gguf');
    writeFileSync(demo, 'gguf');
    const withDemo = confinement([home], home, [demo]);
    expect(confinePath(demo, 'base', withDemo)).toBe(demo);
    expect(() => confinePath(path.join(app, 'other.gguf'), 'base', withDemo)).toThrow(/outside the folders served/);
    expect(() => confinePath(demo, 'base', c)).toThrow(/outside the folders served/);
  });

  it('refuses a system folder or the root as a served folder', () => {
    expect(() => confinement(['/etc'], home)).toThrow(/system folder/);
    expect(() => confinement(['/'], home)).toThrow(/system folder/);
  });

  it('the Hub address may only be a public https address', () => {
    for (const bad of ['http://example.com', 'https://127.0.0.1', 'https://localhost:8080', 'https://10.1.2.3', 'https://169.254.169.254', 'https://[::1]/', 'file:///etc/passwd']) {
      expect(() => confineEndpoint(bad)).toThrow(/public https/);
    }
    for (const ok of [null, '', 'https://hf-mirror.com', 'https://huggingface.co']) expect(() => confineEndpoint(ok)).not.toThrow();
  });

  it('wraps every channel: dataset import of /etc/shadow never reaches the handler; other requests pass', async () => {
    const seen: unknown[] = [];
    const table = {
      'datasets.import': (req: unknown) => seen.push(req),
      'adapters.export': (req: unknown) => seen.push(req),
      'settings.update': (req: unknown) => seen.push(req),
      'app.info': () => 'info',
    } as unknown as HandlerTable;
    const t = confineTable(table, c);
    const ctx = { shell: 'browser' as const };
    expect(await dispatch(t, 'datasets.import', { name: 'x', path: '/etc/shadow' }, ctx)).toMatchObject({ ok: false, error: { code: 'BAD_INPUT', where: 'path' } });
    expect(await dispatch(t, 'adapters.export', { id: 'a', format: 'gguf', out: path.join(home, 'x.gguf'), base: '/etc' }, ctx)).toMatchObject({ ok: false, error: { where: 'base' } });
    expect(await dispatch(t, 'settings.update', { hfEndpoint: 'https://169.254.169.254' }, ctx)).toMatchObject({ ok: false, error: { where: 'hfEndpoint' } });
    expect(seen).toEqual([]);
    expect(await dispatch(t, 'datasets.import', { name: 'x', path: path.join(home, 'data', 'ok.jsonl') }, ctx)).toMatchObject({ ok: true });
    expect(await dispatch(t, 'datasets.import', { name: 'x', content: '{"text":"y"}' }, ctx)).toMatchObject({ ok: true });
    expect(await dispatch(t, 'app.info', undefined, ctx)).toEqual({ ok: true, value: 'info' });
    expect(seen).toHaveLength(2);
  });
});
