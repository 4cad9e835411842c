/**
 * The Chat screen's part of the IPC contract: its channels and token stream (merged into contract.ts), payload
 * types, its limits, and the validator of chat.generate, whose sampling options come from the one schema
 * `graft generate` / `chat` / `compare` build their flags from (engine/options/generate.ts).
 */
import { COMPOSE_OPTIONS, type ComposeOptions } from '../engine/options/compose';
import { parseSampling, type SamplingOptions } from '../engine/options/generate';
import { validateOptions } from '../engine/options/schema';
import { DEVICE_PREFS, type DevicePref } from '../engine/runtime/device-pref';
import { bad, num, obj, str } from './checks';

export { CHAT_SAMPLING, parseSampling, SAMPLING_OPTIONS, type SamplingOptions } from '../engine/options/generate';
export { COMPOSE_OPTIONS, type ComposeOptions };

/** Columns of a compare view: variants decoded together in one batch. */
export const MAX_COLUMNS = 4;

/** Library adapters composed on one column after its first: a second and later adapters per column. */
export const MAX_COMPOSED = 3;

/**
 * One column of a chat: the base (adapterId null) or a library adapter at a scale (a LoRA's scale, a merged
 * method adapter's weight), and optionally more adapters composed with it on the same row (issue 16), as the
 * composition options say (engine/options/compose.ts, the schema of `graft generate --compose`).
 */
export interface ChatColumn {
  adapterId: string | null;
  scale: number;
  composed?: { adapterId: string; weight: number }[];
  /** Left out: the schema's defaults (stacked, no AdapterDrop). */
  compose?: Partial<ComposeOptions>;
}

/** Sampling of a chat request: the generation schema's sampling options (engine/options/generate.ts). */
export type ChatSampling = SamplingOptions;

export interface ChatMessageData {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatGenerateReq {
  /** Chosen by the renderer; stream events and chat.stop refer to it. */
  runId: string;
  /** Base model path (HF folder or .gguf). */
  model: string;
  device: DevicePref;
  /** 'template': the model's chat template (ChatML when it has none); 'plain': the text as a completion prompt. */
  promptFormat: 'template' | 'plain';
  /** The conversation so far, ending with the user's turn (template), or one user message (plain). */
  messages: ChatMessageData[];
  /** One variant per column, all decoded together in one batch. */
  columns: ChatColumn[];
  /** Options left out take the schema's defaults. */
  sampling: Partial<ChatSampling>;
}

/** A column as the IPC validated it: its composition options filled in. */
export type ChatColumnJob = Omit<ChatColumn, 'compose'> & { composed: { adapterId: string; weight: number }[]; compose: ComposeOptions };
/** A chat request as the IPC validated it: every sampling and composition option present. */
export type ChatGenerateJob = Omit<ChatGenerateReq, 'sampling' | 'columns'> & { sampling: ChatSampling; columns: ChatColumnJob[] };

export interface ChatColumnResult {
  text: string;
  finish: 'eos' | 'stop' | 'length' | 'cancelled';
  tokens: number;
  ttftMs: number;
  tokensPerSecond: number;
}

export interface ChatGenerateRes {
  results: ChatColumnResult[];
  /** Set when the model has no chat template and ChatML was used. */
  templateWarning?: string;
  promptTokens: number;
  /** A training run was going: it waited between its steps while this reply decoded. */
  trainingHeld?: boolean;
}

/** A streamed piece of a column's reply. */
export interface ChatTokenEvent {
  runId: string;
  variant: number;
  text: string;
}

export interface ConversationTurn {
  user: string;
  /** One reply per column. */
  replies: {
    text: string;
    finish?: ChatColumnResult['finish'];
    error?: string;
    /** How it ran: generated tokens, decode speed and time to the first token. */
    stats?: { tokens: number; tokensPerSecond: number; ttftMs: number };
    /** The column as it was when this reply was written (adapter, scale, label): later column changes leave it. */
    writer?: ChatColumn & { label: string };
  }[];
}

export interface Conversation {
  id: string;
  title: string;
  mode: 'chat' | 'compare';
  created: string;
  updated: string;
  model: string;
  system: string;
  promptFormat: ChatGenerateReq['promptFormat'];
  columns: ChatColumn[];
  /** As saved: conversations kept before an option existed lack it (the screen fills in the default). */
  sampling: Partial<ChatSampling>;
  turns: ConversationTurn[];
}

export interface ConversationSummary {
  id: string;
  title: string;
  mode: Conversation['mode'];
  updated: string;
  turns: number;
}

export interface ChatChannels {
  /** Resolves when every column is done; tokens arrive on the 'chat.token' stream. */
  'chat.generate': { req: ChatGenerateReq; res: ChatGenerateRes };
  'chat.stop': { req: { runId: string }; res: { stopped: boolean } };
  'conversations.list': { req: void; res: ConversationSummary[] };
  'conversations.get': { req: { id: string }; res: Conversation };
  'conversations.save': { req: Conversation; res: ConversationSummary };
  'conversations.delete': { req: { id: string }; res: void };
}

export interface ChatStreams {
  'chat.token': ChatTokenEvent;
}

/** A chat.generate request checked whole; sampling options by the generation schema. */
export function parseChatGenerate(req: unknown): ChatGenerateJob {
  const c = 'chat.generate';
  const o = obj(c, req);
  const cols = o.columns;
  if (!Array.isArray(cols) || cols.length < 1 || cols.length > MAX_COLUMNS) bad(c, 'columns', `a list of 1 to ${MAX_COLUMNS} columns`);
  const columns: ChatColumnJob[] = cols.map((col, i) => {
    const x = obj(c, col);
    if (x.adapterId !== null && typeof x.adapterId !== 'string') bad(c, `columns[${i}].adapterId`, 'an adapter id or null (the base)');
    const more = x.composed ?? [];
    if (!Array.isArray(more) || more.length > MAX_COMPOSED) bad(c, `columns[${i}].composed`, `a list of up to ${MAX_COMPOSED} adapters`);
    if (more.length && x.adapterId === null) bad(c, `columns[${i}].composed`, 'empty on a base column (pick its first adapter)');
    const composed = more.map((m) => {
      const y = obj(c, m);
      return { adapterId: str(c, y, 'adapterId'), weight: num(c, y, 'weight', -4, 4) };
    });
    // The composition schema's own refusals name its field (compose, mergeRank, adapterDrop), as the CLI's do.
    const compose = validateOptions(COMPOSE_OPTIONS, x.compose ?? {});
    return { adapterId: x.adapterId as string | null, scale: num(c, x, 'scale', -4, 4), composed, compose };
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
