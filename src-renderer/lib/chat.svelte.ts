import { CHAT_SAMPLING, MAX_COLUMNS } from '../../src-main/ipc/chat';
import { METHODS, type TrainMethod } from '../../src-main/ipc/train';
import type { AdapterEntry } from '../../src-main/ipc/adapters';
import type { ChatColumn, ChatMessageData, ChatSampling, Conversation, ConversationSummary, ConversationTurn } from '../../src-main/ipc/chat';
import type { DevicePreference } from '../../src-main/ipc/contract';
import { api } from './api';
import { listBaseModels, type BaseModelChoice } from './base-models';
import { errorText } from './errors';

export { MAX_COLUMNS };

/** The generation schema's chat starting point (src-main/engine/options/generate.ts). */
export const DEFAULT_SAMPLING: ChatSampling = { ...CHAT_SAMPLING };

const SETTINGS_KEY = 'graft.chat.settings';

/**
 * The Chat screen's state. One conversation is open at a time; in chat mode it is a multi-turn dialogue with
 * one column, in compare mode every prompt goes fresh to up to four columns (base or adapters, each with a
 * scale), decoded together in one batched run whose tokens stream into every column at once.
 */
class ChatState {
  mode = $state<Conversation['mode']>('chat');
  model = $state('');
  device = $state<DevicePreference>('auto');
  system = $state('');
  promptFormat = $state<Conversation['promptFormat']>('template');
  sampling = $state<ChatSampling>({ ...DEFAULT_SAMPLING });
  columns = $state<ChatColumn[]>([{ adapterId: null, scale: 1 }]);
  turns = $state<ConversationTurn[]>([]);
  id = $state<string | null>(null);
  title = $state('');
  created = '';

  models = $state<BaseModelChoice[]>([]);
  adapters = $state<AdapterEntry[]>([]);
  saved = $state<ConversationSummary[]>([]);
  /** False until the model, adapter and conversation lists first arrive. */
  listsLoaded = $state(false);

  runId = $state<string | null>(null);
  error = $state<string | null>(null);
  templateWarning = $state<string | null>(null);
  notice = $state('');
  private unsubscribe: (() => void) | null = null;

  get running(): boolean {
    return this.runId !== null;
  }

  start(): void {
    if (!this.unsubscribe) {
      this.unsubscribe = api.subscribe('chat.token', (e) => {
        if (e.runId !== this.runId) return;
        const reply = this.turns.at(-1)?.replies[e.variant];
        if (reply) reply.text += e.text;
      });
      this.loadSettings();
    }
    void this.refreshLists();
  }

  async refreshLists(): Promise<void> {
    const [models, adapters, saved] = await Promise.all([
      listBaseModels(),
      api.invoke('adapters.list', { sort: 'created', descending: true }),
      api.invoke('conversations.list'),
    ]);
    this.models = models;
    this.listsLoaded = true;
    if (adapters.ok) this.adapters = adapters.value.entries;
    if (saved.ok) this.saved = saved.value;
    if (!this.model && models.length) this.model = models[0].path;
    // A column whose adapter was deleted falls back to the base rather than failing every send.
    const gone = (id: string) => adapters.ok && !this.adapters.some((a) => a.meta.id === id);
    this.columns = this.columns.map((c) =>
      c.adapterId && gone(c.adapterId) ? { ...c, adapterId: null, composed: [] } : { ...c, composed: c.composed?.filter((x) => !gone(x.adapterId)) },
    );
  }

  /** A fresh single chat with this adapter on its base model (the Train screen's "chat with it"). */
  async chatWith(adapterId: string, modelId: string): Promise<void> {
    // Start first, so that the saved settings it loads do not overwrite the model chosen here.
    this.start();
    if (this.running) return;
    const r = await api.invoke('models.list');
    const base = r.ok ? r.value.models.find((m) => m.id === modelId) : undefined;
    this.setMode('chat');
    this.newConversation();
    if (base) this.model = base.path;
    this.columns = [{ adapterId, scale: 1 }];
    await this.refreshLists();
  }

  /** Who wrote a reply: the column as it was then, or (conversations saved before replies kept it) as it is now. */
  replyLabel(turn: ConversationTurn, c: number): string {
    const w = turn.replies[c]?.writer;
    if (w) return w.label;
    return this.columns[c] ? this.columnLabel(this.columns[c]) : `Column ${c + 1}`;
  }

  /** A column in words: its adapters (with their method where not LoRA, and weight), how they compose, AdapterDrop. */
  columnLabel(c: ChatColumn): string {
    if (c.adapterId === null) return 'Base model';
    const part = (id: string, weight: number) => {
      const meta = this.adapters.find((a) => a.meta.id === id)?.meta;
      const method = meta && meta.method in METHODS && meta.method !== 'lora' ? ` (${METHODS[meta.method as TrainMethod].label})` : '';
      return `${meta?.name ?? id}${method}${weight === 1 ? '' : ` ×${weight}`}`;
    };
    const parts = [part(c.adapterId, c.scale), ...(c.composed ?? []).map((x) => part(x.adapterId, x.weight))];
    const how = parts.length > 1 ? (c.compose?.compose === 'merge' ? ' merged' : ' stacked') : '';
    const drop = c.compose?.adapterDrop ? `, AdapterDrop ${c.compose.adapterDrop}` : '';
    return `${parts.join(' + ')}${how}${drop}`;
  }

  setMode(mode: Conversation['mode']): void {
    if (mode === this.mode) return;
    this.newConversation();
    this.mode = mode;
    if (mode === 'chat') this.columns = this.columns.slice(0, 1);
    else if (this.columns.length < 2) {
      const a = this.adapters[0];
      this.columns = [...this.columns, { adapterId: a ? a.meta.id : null, scale: 1 }];
    }
  }

  addColumn(): void {
    if (this.columns.length < MAX_COLUMNS) this.columns = [...this.columns, { adapterId: this.adapters[0]?.meta.id ?? null, scale: 1 }];
  }

  removeColumn(i: number): void {
    if (this.columns.length > 1) this.columns = this.columns.filter((_, j) => j !== i);
  }

  newConversation(): void {
    if (this.running) return;
    this.id = null;
    this.title = '';
    this.turns = [];
    this.error = null;
    this.templateWarning = null;
  }

  private messagesFor(user: string): ChatMessageData[] {
    const sys: ChatMessageData[] = this.system.trim() ? [{ role: 'system', content: this.system }] : [];
    if (this.promptFormat === 'plain' || this.mode === 'compare') return [...sys, { role: 'user', content: user }];
    const history = this.turns.slice(0, -1).flatMap((t): ChatMessageData[] => [
      { role: 'user', content: t.user },
      { role: 'assistant', content: t.replies[0]?.text ?? '' },
    ]);
    return [...sys, ...history, { role: 'user', content: user }];
  }

  async send(prompt: string): Promise<void> {
    const text = prompt.trim();
    if (!text || this.running) return;
    if (!this.model) {
      this.error = 'Choose a base model first (add one on the Models screen, or type its path).';
      return;
    }
    this.error = null;
    const writers = this.columns.map((c) => ({ ...$state.snapshot(c), label: this.columnLabel(c) }));
    this.turns.push({ user: text, replies: writers.map((writer) => ({ text: '', writer })) });
    const turn = this.turns.at(-1)!;
    const runId = crypto.randomUUID();
    this.runId = runId;
    this.id ??= crypto.randomUUID();
    this.title ||= text.slice(0, 60);
    this.created ||= new Date().toISOString();
    try {
      const res = await api.call('chat.generate', {
        runId,
        model: this.model,
        device: this.device,
        promptFormat: this.promptFormat,
        messages: this.messagesFor(text),
        columns: $state.snapshot(this.columns),
        sampling: $state.snapshot(this.sampling),
      });
      res.results.forEach((r, i) => {
        turn.replies[i] = {
          writer: writers[i],
          text: r.text,
          finish: r.finish,
          stats: { tokens: r.tokens, tokensPerSecond: r.tokensPerSecond, ttftMs: r.ttftMs },
        };
      });
      this.templateWarning = res.templateWarning ?? null;
      this.notice = res.trainingHeld ? 'A training run is going: it paused between its steps while this reply was written.' : '';
    } catch (err) {
      const msg = errorText(err);
      this.error = msg;
      turn.replies.forEach((r) => (r.error = msg));
    } finally {
      this.runId = null;
    }
    await this.save();
  }

  async stop(): Promise<void> {
    if (this.runId) await api.invoke('chat.stop', { runId: this.runId });
  }

  async regenerate(): Promise<void> {
    const last = this.turns.at(-1);
    if (!last || this.running) return;
    this.turns.pop();
    await this.send(last.user);
  }

  async copy(text: string): Promise<void> {
    try {
      await navigator.clipboard.writeText(text);
      this.notice = 'Copied to the clipboard.';
    } catch {
      this.notice = 'The clipboard is not available here; select the text to copy it.';
    }
  }

  private snapshot(): Conversation {
    return {
      id: this.id!,
      title: this.title,
      mode: this.mode,
      created: this.created,
      updated: new Date().toISOString(),
      model: this.model,
      system: this.system,
      promptFormat: this.promptFormat,
      columns: $state.snapshot(this.columns),
      sampling: $state.snapshot(this.sampling),
      turns: $state.snapshot(this.turns),
    };
  }

  async save(): Promise<void> {
    if (!this.id) return;
    this.saveSettings();
    const r = await api.invoke('conversations.save', this.snapshot());
    if (!r.ok) this.error = `Could not save the conversation: ${r.error.message}`;
    const list = await api.invoke('conversations.list');
    if (list.ok) this.saved = list.value;
  }

  async open(id: string): Promise<void> {
    if (this.running) return;
    try {
      const c = await api.call('conversations.get', { id });
      this.id = c.id;
      this.title = c.title;
      this.created = c.created;
      this.mode = c.mode;
      this.model = c.model;
      this.system = c.system;
      this.promptFormat = c.promptFormat;
      this.columns = c.columns;
      this.sampling = { ...DEFAULT_SAMPLING, ...c.sampling };
      this.turns = c.turns;
      this.error = null;
      this.templateWarning = null;
    } catch (err) {
      this.error = errorText(err);
    }
  }

  async remove(id: string): Promise<void> {
    const r = await api.invoke('conversations.delete', { id });
    if (!r.ok) this.error = r.error.message;
    if (id === this.id) this.newConversation();
    const list = await api.invoke('conversations.list');
    if (list.ok) this.saved = list.value;
  }

  /** The last settings used, so a new conversation starts where the previous one left off. */
  private saveSettings(): void {
    const s = { model: this.model, device: this.device, system: this.system, promptFormat: this.promptFormat, sampling: this.sampling };
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(s));
  }

  private loadSettings(): void {
    try {
      const s = JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? 'null') as Partial<ChatState> | null;
      if (!s) return;
      if (typeof s.model === 'string') this.model = s.model;
      if (s.device === 'auto' || s.device === 'cpu' || s.device === 'gpu') this.device = s.device;
      if (typeof s.system === 'string') this.system = s.system;
      if (s.promptFormat === 'template' || s.promptFormat === 'plain') this.promptFormat = s.promptFormat;
      if (s.sampling && typeof s.sampling === 'object') this.sampling = { ...DEFAULT_SAMPLING, ...s.sampling };
    } catch {
      /* unreadable settings: start from the defaults */
    }
  }
}

export const chat = new ChatState();
