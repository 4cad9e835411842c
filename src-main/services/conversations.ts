/**
 * Saved chats: one JSON file per conversation under <user data>/conversations/ (GRAFT_DATA_DIR overrides), each written atomically
 * (temp file, fsync, rename), so a crash mid-save leaves the previous version, never a torn file.
 */
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { GraftError } from '../engine/errors';
import { writeJsonAtomic } from '../engine/io/atomic';
import { dataDir } from './json-store';
import type { Conversation, ConversationSummary } from '../ipc/chat';

const ID = /^[a-z0-9][a-z0-9-]{0,63}$/;

function checkId(id: unknown): string {
  if (typeof id !== 'string' || !ID.test(id))
    throw new GraftError('BAD_INPUT', `conversation id ${JSON.stringify(id)} is not valid`, { where: 'id' });
  return id;
}

function checkConversation(c: unknown, where: string): Conversation {
  const o = c as Partial<Conversation> | null;
  if (!o || typeof o !== 'object') throw new GraftError('BAD_INPUT', `${where}: a conversation must be an object`, { where });
  checkId(o.id);
  for (const k of ['title', 'model', 'system', 'created', 'updated'] as const) {
    if (typeof o[k] !== 'string') throw new GraftError('BAD_INPUT', `${where}: "${k}" must be a string`, { where: k });
  }
  if (o.mode !== 'chat' && o.mode !== 'compare')
    throw new GraftError('BAD_INPUT', `${where}: "mode" must be chat or compare`, { where: 'mode' });
  if (!Array.isArray(o.turns) || !Array.isArray(o.columns))
    throw new GraftError('BAD_INPUT', `${where}: "turns" and "columns" must be lists`, { where: 'turns' });
  return o as Conversation;
}

export class ConversationStore {
  constructor(private readonly dirOverride?: string) {}

  get dir(): string {
    return this.dirOverride ?? path.join(dataDir(), 'conversations');
  }

  private file(id: string): string {
    return path.join(this.dir, `${checkId(id)}.json`);
  }

  /** Newest first; a file that cannot be read is skipped (it stays on disk for the user to look at). */
  async list(): Promise<ConversationSummary[]> {
    const names = await fsp.readdir(this.dir).catch(() => [] as string[]);
    const out: ConversationSummary[] = [];
    for (const n of names) {
      if (!n.endsWith('.json') || n.startsWith('.')) continue;
      try {
        const c = checkConversation(JSON.parse(await fsp.readFile(path.join(this.dir, n), 'utf8')), n);
        out.push({ id: c.id, title: c.title, mode: c.mode, updated: c.updated, turns: c.turns.length });
      } catch {
        /* not a conversation of ours */
      }
    }
    return out.sort((a, b) => b.updated.localeCompare(a.updated));
  }

  async get(id: string): Promise<Conversation> {
    const file = this.file(id);
    let raw: string;
    try {
      raw = await fsp.readFile(file, 'utf8');
    } catch (err) {
      throw new GraftError('NOT_FOUND', `no saved conversation "${id}"`, { file, cause: err });
    }
    try {
      return checkConversation(JSON.parse(raw), file);
    } catch (err) {
      if (err instanceof GraftError) throw err;
      throw new GraftError('BAD_FILE', `${file}: not valid JSON (${(err as Error).message})`, { file });
    }
  }

  async save(c: Conversation): Promise<ConversationSummary> {
    const conv = checkConversation(c, 'conversation');
    await fsp.mkdir(this.dir, { recursive: true });
    await writeJsonAtomic(this.file(conv.id), conv);
    return { id: conv.id, title: conv.title, mode: conv.mode, updated: conv.updated, turns: conv.turns.length };
  }

  async remove(id: string): Promise<void> {
    await fsp.rm(this.file(id), { force: true });
  }
}
