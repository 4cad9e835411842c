import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveStatic } from '../../src-main/host/static';

const root = path.resolve('/srv/renderer');

describe('resolveStatic', () => {
  it('maps / to index.html and paths to files under the root', () => {
    expect(resolveStatic(root, '/')).toBe(path.join(root, 'index.html'));
    expect(resolveStatic(root, '/assets/index-abc.js')).toBe(path.join(root, 'assets', 'index-abc.js'));
    expect(resolveStatic(root, '/assets/a%20b.css')).toBe(path.join(root, 'assets', 'a b.css'));
  });

  it('refuses paths that leave the root, however they are spelled', () => {
    for (const p of ['/../secret', '/assets/../../secret', '/..%2fsecret', '/%2e%2e/%2e%2e/etc/passwd', '/..', '/%00x', '/%E0%A4%A']) {
      expect(resolveStatic(root, p), p).toBeNull();
    }
  });
});
