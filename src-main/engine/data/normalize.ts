import type { ChatMessage, ChatRole, DatasetFormat, DatasetRow } from './types.js';

/** Record formats that come as JSON objects (CSV rows are mapped by columns instead). */
export type JsonFormat = Exclude<DatasetFormat, 'csv'>;

const ROLES: readonly ChatRole[] = ['system', 'user', 'assistant', 'tool'];

/** ShareGPT speaker names seen in the wild, mapped to chat roles. */
const SHAREGPT_ROLES: Record<string, ChatRole> = {
  system: 'system',
  human: 'user',
  user: 'user',
  gpt: 'assistant',
  assistant: 'assistant',
  chatgpt: 'assistant',
  bing: 'assistant',
  bard: 'assistant',
  tool: 'tool',
  function: 'tool',
  function_response: 'tool',
  observation: 'tool',
};

/** Guesses the record format from the keys of one object; null when nothing fits. */
export function detectJsonFormat(obj: unknown): JsonFormat | null {
  if (!isObject(obj)) return null;
  if ('messages' in obj) return 'messages';
  if ('conversations' in obj) return 'sharegpt';
  if ('instruction' in obj && 'output' in obj) return 'alpaca';
  if ('text' in obj) return 'text';
  return null;
}

/** Turns one parsed JSON record into a row, or a reason a person can act on. */
export function normalizeRecord(obj: unknown, format: JsonFormat): DatasetRow | string {
  if (!isObject(obj)) return `expected a JSON object, got ${describe(obj)}`;
  switch (format) {
    case 'messages':
      return fromMessages(obj);
    case 'sharegpt':
      return fromShareGpt(obj);
    case 'alpaca':
      return fromAlpaca(obj);
    case 'text':
      return fromText(obj.text, "'text'");
  }
}

export function fromText(text: unknown, what: string): DatasetRow | string {
  if (typeof text !== 'string') return `${what} must be a string, got ${describe(text)}`;
  if (text.trim() === '') return `${what} is empty`;
  return { kind: 'text', text };
}

function fromMessages(obj: Record<string, unknown>): DatasetRow | string {
  const list = obj.messages;
  if (!Array.isArray(list)) return `'messages' must be an array, got ${describe(list)}`;
  const messages: ChatMessage[] = [];
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (!isObject(m)) return `messages[${i}] must be an object, got ${describe(m)}`;
    const role = m.role;
    if (typeof role !== 'string' || !ROLES.includes(role as ChatRole)) {
      return `messages[${i}].role ${JSON.stringify(role)} is not one of ${ROLES.join(', ')}`;
    }
    const content = contentText(m.content);
    if (content === null) return `messages[${i}].content must be a string or a list of text parts, got ${describe(m.content)}`;
    messages.push({ role: role as ChatRole, content });
  }
  return checkConversation(messages, 'messages');
}

function fromShareGpt(obj: Record<string, unknown>): DatasetRow | string {
  const list = obj.conversations;
  if (!Array.isArray(list)) return `'conversations' must be an array, got ${describe(list)}`;
  const messages: ChatMessage[] = [];
  if (typeof obj.system === 'string' && obj.system.trim() !== '') messages.push({ role: 'system', content: obj.system });
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    if (!isObject(m)) return `conversations[${i}] must be an object, got ${describe(m)}`;
    const from = typeof m.from === 'string' ? m.from.toLowerCase() : m.from;
    const role = typeof from === 'string' ? SHAREGPT_ROLES[from] : undefined;
    if (role === undefined) return `conversations[${i}].from ${JSON.stringify(m.from)} is not a known speaker (human, gpt, system, tool)`;
    if (typeof m.value !== 'string') return `conversations[${i}].value must be a string, got ${describe(m.value)}`;
    messages.push({ role, content: m.value });
  }
  return checkConversation(messages, 'conversations');
}

function fromAlpaca(obj: Record<string, unknown>): DatasetRow | string {
  const { instruction, input, output, system } = obj;
  if (typeof instruction !== 'string' || instruction.trim() === '')
    return `'instruction' must be a non-empty string, got ${describe(instruction)}`;
  if (input !== undefined && input !== null && typeof input !== 'string') return `'input' must be a string, got ${describe(input)}`;
  if (typeof output !== 'string' || output.trim() === '') return `'output' must be a non-empty string, got ${describe(output)}`;
  const messages: ChatMessage[] = [];
  if (typeof system === 'string' && system.trim() !== '') messages.push({ role: 'system', content: system });
  const user = typeof input === 'string' && input.trim() !== '' ? `${instruction}\n\n${input}` : instruction;
  messages.push({ role: 'user', content: user }, { role: 'assistant', content: output });
  return { kind: 'chat', messages };
}

/** A conversation is only worth training on when an assistant says something. */
export function checkConversation(messages: ChatMessage[], what: string): DatasetRow | string {
  if (messages.length === 0) return `'${what}' is empty`;
  const assistants = messages.filter((m) => m.role === 'assistant');
  if (assistants.length === 0) return `'${what}' has no assistant turn, so there is nothing to learn`;
  const emptyAt = messages.findIndex((m) => m.role === 'assistant' && m.content.trim() === '');
  if (emptyAt >= 0) return `${what}[${emptyAt}] is an assistant turn with empty content`;
  return { kind: 'chat', messages };
}

/** OpenAI content may be a string or a list of parts; only text parts are supported. */
function contentText(c: unknown): string | null {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return null;
  const parts: string[] = [];
  for (const p of c) {
    if (!isObject(p) || p.type !== 'text' || typeof p.text !== 'string') return null;
    parts.push(p.text);
  }
  return parts.join('');
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function describe(x: unknown): string {
  if (x === undefined) return 'nothing (the key is missing)';
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'string') return x === '' ? 'an empty string' : 'a string';
  return `a ${typeof x}`;
}
