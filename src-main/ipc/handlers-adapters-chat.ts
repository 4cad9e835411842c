/**
 * Handlers of the Adapters and Chat screens' channels, merged into the one table in handlers.ts.
 * Payloads come from an untrusted peer: each is checked here before it reaches a service.
 */
import { GraftError } from '../engine/errors';
import { DEVICE_PREFS, type DevicePref } from '../engine/runtime/device-pref';
import type { Services } from '../services/index';
import type { Handler } from './contract';
import { MAX_COLUMNS, parseSampling } from './chat';
import type { AdapterExportFormat, AdapterSortKey, ChatColumn, ChatGenerateJob } from './types-adapters-chat';

type Channels =
  | 'adapters.list'
  | 'adapters.rename'
  | 'adapters.setTags'
  | 'adapters.setNotes'
  | 'adapters.delete'
  | 'adapters.restore'
  | 'adapters.import'
  | 'adapters.export'
  | 'adapters.blend'
  | 'chat.generate'
  | 'chat.stop'
  | 'conversations.list'
  | 'conversations.get'
  | 'conversations.save'
  | 'conversations.delete';

const SORTS: AdapterSortKey[] = ['name', 'created', 'size', 'rank'];
const FORMATS: AdapterExportFormat[] = ['peft', 'peft-zip', 'gguf', 'merged'];

function bad(channel: string, key: string, want: string): never {
  throw new GraftError('BAD_INPUT', `${channel}: "${key}" must be ${want}`, { where: key });
}
function obj(channel: string, req: unknown): Record<string, unknown> {
  if (!req || typeof req !== 'object' || Array.isArray(req)) bad(channel, '(request)', 'an object');
  return req as Record<string, unknown>;
}
function str(channel: string, o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !v.trim()) bad(channel, key, 'a non-empty string');
  return v;
}
function optStr(channel: string, o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') bad(channel, key, 'a string');
  return v;
}
function num(channel: string, o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) bad(channel, key, `a number from ${min} to ${max}`);
  return v;
}
function strList(channel: string, o: Record<string, unknown>, key: string): string[] {
  const v = o[key] ?? [];
  if (!Array.isArray(v) || v.some((t) => typeof t !== 'string')) bad(channel, key, 'a list of strings');
  return v as string[];
}

function generateReq(req: unknown): ChatGenerateJob {
  const c = 'chat.generate';
  const o = obj(c, req);
  const cols = o.columns;
  if (!Array.isArray(cols) || cols.length < 1 || cols.length > MAX_COLUMNS) bad(c, 'columns', `a list of 1 to ${MAX_COLUMNS} columns`);
  const columns: ChatColumn[] = cols.map((col, i) => {
    const x = obj(c, col);
    if (x.adapterId !== null && typeof x.adapterId !== 'string') bad(c, `columns[${i}].adapterId`, 'an adapter id or null (the base)');
    return { adapterId: x.adapterId as string | null, scale: num(c, x, 'scale', -4, 4) };
  });
  const msgs = o.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) bad(c, 'messages', 'a non-empty list');
  const messages = msgs.map((m, i) => {
    const x = obj(c, m);
    if (x.role !== 'system' && x.role !== 'user' && x.role !== 'assistant') bad(c, `messages[${i}].role`, 'system, user or assistant');
    if (typeof x.content !== 'string') bad(c, `messages[${i}].content`, 'a string');
    return { role: x.role as 'system' | 'user' | 'assistant', content: x.content };
  });
  if (!DEVICE_PREFS.includes(o.device as DevicePref)) bad(c, 'device', DEVICE_PREFS.join(', '));
  if (o.promptFormat !== 'template' && o.promptFormat !== 'plain') bad(c, 'promptFormat', 'template or plain');
  return {
    runId: str(c, o, 'runId'),
    model: str(c, o, 'model'),
    device: o.device as DevicePref,
    promptFormat: o.promptFormat,
    messages,
    columns,
    sampling: parseSampling(o.sampling),
  };
}

export function adapterChatHandlers(services: Services): { [C in Channels]: Handler<C> } {
  const { adapters, conversations } = services;
  return {
    'adapters.list': (req) => {
      const o = req ? obj('adapters.list', req) : {};
      if (o.sort !== undefined && !SORTS.includes(o.sort as AdapterSortKey)) bad('adapters.list', 'sort', SORTS.join(', '));
      return adapters.list({
        query: optStr('adapters.list', o, 'query'),
        tags: strList('adapters.list', o, 'tags'),
        sort: o.sort as AdapterSortKey | undefined,
        descending: o.descending === true,
      });
    },
    'adapters.rename': (req) =>
      adapters.rename(str('adapters.rename', obj('adapters.rename', req), 'id'), str('adapters.rename', req, 'name')),
    'adapters.setTags': (req) =>
      adapters.setTags(str('adapters.setTags', obj('adapters.setTags', req), 'id'), strList('adapters.setTags', req, 'tags')),
    'adapters.setNotes': (req) => {
      const o = obj('adapters.setNotes', req);
      if (typeof o.notes !== 'string') bad('adapters.setNotes', 'notes', 'a string');
      return adapters.setNotes(str('adapters.setNotes', o, 'id'), o.notes);
    },
    'adapters.delete': (req) => adapters.remove(str('adapters.delete', obj('adapters.delete', req), 'id')),
    'adapters.restore': (req) => adapters.restore(req ? optStr('adapters.restore', obj('adapters.restore', req), 'id') : undefined),
    'adapters.import': (req) => {
      const c = 'adapters.import';
      const o = obj(c, req);
      return adapters.import({
        path: str(c, o, 'path'),
        name: optStr(c, o, 'name'),
        tags: strList(c, o, 'tags'),
        basePath: optStr(c, o, 'basePath'),
      });
    },
    'adapters.export': (req) => {
      const c = 'adapters.export';
      const o = obj(c, req);
      if (!FORMATS.includes(o.format as AdapterExportFormat)) bad(c, 'format', FORMATS.join(', '));
      if (o.ggufType !== undefined && o.ggufType !== 'F32' && o.ggufType !== 'F16') bad(c, 'ggufType', 'F32 or F16');
      return adapters.export({
        id: str(c, o, 'id'),
        format: o.format as AdapterExportFormat,
        out: str(c, o, 'out'),
        base: optStr(c, o, 'base'),
        ollamaBase: optStr(c, o, 'ollamaBase'),
        ggufType: o.ggufType as 'F32' | 'F16' | undefined,
      });
    },
    'adapters.blend': (req) => {
      const c = 'adapters.blend';
      const o = obj(c, req);
      if (!Array.isArray(o.parts) || o.parts.length < 2) bad(c, 'parts', 'a list of at least two adapters');
      const parts = o.parts.map((p) => {
        const x = obj(c, p);
        return { id: str(c, x, 'id'), weight: num(c, x, 'weight', -10, 10) };
      });
      const rank = o.rank === undefined || o.rank === null ? undefined : Math.round(num(c, o, 'rank', 1, 4096));
      return adapters.blend({ parts, name: str(c, o, 'name'), rank });
    },
    'chat.generate': (req) => services.engine.call('chat.generate', { ...generateReq(req), library: adapters.root }),
    'chat.stop': (req) => services.engine.call('chat.stop', { runId: str('chat.stop', obj('chat.stop', req), 'runId') }),
    'conversations.list': () => conversations.list(),
    'conversations.get': (req) => conversations.get(str('conversations.get', obj('conversations.get', req), 'id')),
    'conversations.save': (req) => conversations.save(req),
    'conversations.delete': (req) => conversations.remove(str('conversations.delete', obj('conversations.delete', req), 'id')),
  };
}
