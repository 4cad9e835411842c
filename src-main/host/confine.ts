/**
 * The browser host's second layer: a page that holds the token can still only name files inside the folders
 * the user chose to serve (their home by default), never a system folder or a folder of secrets, and can point
 * Hub downloads only at a public https address. Paths are resolved through symlinks and handed on resolved,
 * so a link inside the home folder cannot lead out of it between the check and the use.
 */
import { realpathSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isIP } from 'node:net';
import { GraftError } from '../engine/errors';
import type { Channel, HandlerContext, HandlerTable } from '../ipc/contract';

/** Request fields that name a file or folder on this machine, in any channel. */
const PATH_FIELDS = ['path', 'basePath', 'out', 'dir', 'file', 'outDir'];
/** Fields that are paths only in some channels. */
const CHANNEL_PATH_FIELDS: Partial<Record<Channel, string[]>> = { 'adapters.export': ['base'], 'adapters.exportMethod': ['base'], 'chat.generate': ['model'] };

/** Never served, even under a chosen folder: the system's own and the user's secrets. */
const SYSTEM = ['/etc', '/proc', '/sys', '/dev', '/boot', '/root', '/var', '/usr', '/bin', '/sbin', '/lib', '/lib64', '/run', '/srv', '/snap'];
const SECRETS = ['.ssh', '.gnupg', '.aws', '.azure', '.kube', '.docker', '.password-store', '.netrc', '.pgpass', '.git-credentials', '.config/gcloud'];

const inside = (p: string, dir: string) => p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : dir + path.sep);

/** The real path of `p`: its longest existing head resolved through symlinks, the rest appended. */
function realish(p: string): string {
  let head = p;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(realpathSync(head), ...rest);
    } catch {
      const parent = path.dirname(head);
      if (parent === head) return p;
      rest.unshift(path.basename(head));
      head = parent;
    }
  }
}

function denied(real: string, home: string): boolean {
  if (SYSTEM.some((d) => inside(real, d)) && !inside(real, home)) return true;
  return SECRETS.some((s) => inside(real, path.join(home, s)));
}

export interface Confinement {
  /** Folders the browser may name paths in, resolved. */
  roots: string[];
  home: string;
  /** Files and folders the page may name wherever they are (the bundled demo model, finished uploads), resolved. */
  files: string[];
}

/** Checks the chosen folders (none may be a system folder) and resolves them once. */
export function confinement(roots: string[] = [os.homedir()], home = os.homedir(), files: string[] = []): Confinement {
  const realHome = realish(path.resolve(home));
  const real = roots.map((r) => {
    const p = realish(path.resolve(r));
    if (p === path.parse(p).root || denied(p, realHome)) {
      throw new GraftError('BAD_INPUT', `${r} cannot be served to the browser: it is a system folder or holds secrets`, { file: r });
    }
    return p;
  });
  return { roots: real, home: realHome, files: files.map((f) => realish(path.resolve(f))) };
}

/** The resolved path, or a refusal naming the field and the folders that are allowed. */
export function confinePath(value: unknown, field: string, c: Confinement): unknown {
  if (typeof value !== 'string' || value === '') return value; // the handler's own validation words it
  const refuse = (why: string) => new GraftError('BAD_INPUT', `${value}: ${why}`, { file: value, where: field });
  if (!path.isAbsolute(value)) throw refuse('give the full path (from the browser, paths must be absolute)');
  const real = realish(path.resolve(value));
  if (c.files.includes(real)) return real;
  if (denied(real, c.home)) throw refuse('the browser may not read or write system folders or folders of secrets');
  if (!c.roots.some((r) => inside(real, r))) {
    throw refuse(`outside the folders served to the browser (${c.roots.join(', ')}); \`graft serve --allow-dir DIR\` adds one`);
  }
  return real;
}

/** Loopback, private, link-local and unique-local addresses: what a remote page must not reach through us. */
function privateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal')) return true;
  if (isIP(h) === 4) {
    const [a, b] = h.split('.').map(Number);
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (isIP(h) === 6) return h === '::1' || h === '::' || /^f[cd]/.test(h) || /^fe[89ab]/.test(h) || h.startsWith('::ffff:');
  return false;
}

/** From the browser, the Hub endpoint may only be a public https address (or the default). */
export function confineEndpoint(value: unknown): void {
  if (value === null || value === undefined || value === '') return;
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    return; // not a URL: the settings service refuses it in its own words
  }
  if (url.protocol !== 'https:' || privateHost(url.hostname)) {
    throw new GraftError('BAD_INPUT', `${String(value)}: from the browser, the Hub address must be a public https:// address (set others with GRAFT_HF_ENDPOINT)`, { where: 'hfEndpoint' });
  }
}

/** The handler table the browser host dispatches to: path fields confined, the Hub endpoint checked. */
export function confineTable(table: HandlerTable, c: Confinement): HandlerTable {
  const out = { ...table } as Record<string, (req: unknown, ctx: HandlerContext) => unknown>;
  for (const channel of Object.keys(table) as Channel[]) {
    const inner = table[channel] as (req: unknown, ctx: HandlerContext) => unknown;
    const fields = [...PATH_FIELDS, ...(CHANNEL_PATH_FIELDS[channel] ?? [])];
    out[channel] = (req: unknown, ctx: HandlerContext) => {
      if (channel === 'settings.update' && req && typeof req === 'object') confineEndpoint((req as { hfEndpoint?: unknown }).hfEndpoint);
      if (!req || typeof req !== 'object' || Array.isArray(req)) return inner(req, ctx);
      const checked: Record<string, unknown> = { ...(req as Record<string, unknown>) };
      for (const f of fields) if (f in checked) checked[f] = confinePath(checked[f], f, c);
      return inner(checked, ctx);
    };
  }
  return out as unknown as HandlerTable;
}
