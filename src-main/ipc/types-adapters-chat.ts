/**
 * Payload types of the Adapters and Chat screens' requests and streams (types only; contract.ts names the
 * channels). Kept apart so the two GUI screens' types don't crowd the contract file.
 */
import type { SamplingOptions } from '../engine/options/generate';
import type { DevicePref } from '../engine/runtime/device';
import type { AdapterMeta } from '../store/adapter-meta';

export type { AdapterMeta };

export type AdapterSortKey = 'name' | 'created' | 'size' | 'rank';

export interface AdapterEntry {
  meta: AdapterMeta;
  /** The adapter's folder on this machine. */
  dir: string;
  sizeBytes: number;
}

export interface AdapterListReq {
  query?: string;
  tags?: string[];
  sort?: AdapterSortKey;
  descending?: boolean;
}

export interface AdapterListing {
  entries: AdapterEntry[];
  /** Folders of the library that could not be read, with why. */
  problems: { dir: string; message: string }[];
  /** Every tag used in the library, for the tag filter. */
  allTags: string[];
  /** The library's folder, so the screen can say where adapters live. */
  root: string;
  /** Adapters in the trash, newest delete first (for Undo). */
  trash: { id: string; name: string; deletedAt: string }[];
}

export interface AdapterImportReq {
  /** A PEFT folder, a .zip of one, an adapter_model.safetensors (with adapter_config.json beside it) or a GGUF LoRA. */
  path: string;
  name?: string;
  tags?: string[];
  /** A base model to check the adapter's shapes against (and to convert a GGUF LoRA with). */
  basePath?: string;
}

export interface AdapterImportRes {
  entry: AdapterEntry;
  /** Checks that could not be made, e.g. no architecture recorded in the adapter's files. */
  warnings: string[];
}

export type AdapterExportFormat = 'peft' | 'peft-zip' | 'gguf' | 'merged' | 'merged-gguf';

export interface AdapterExportReq {
  id: string;
  format: AdapterExportFormat;
  /** Output path: a folder (peft, merged) or a file (.zip, .gguf). */
  out: string;
  /** Base model path, needed by gguf and merged when the recorded base is not on this machine. */
  base?: string;
  /** The model name the Ollama Modelfile's FROM line names (gguf). */
  ollamaBase?: string;
  ggufType?: 'F32' | 'F16';
}

export interface AdapterExportRes {
  format: AdapterExportFormat;
  out: string;
  /** Files written beside the output (the Ollama Modelfile for gguf). */
  extra: string[];
}

export interface AdapterBlendReq {
  parts: { id: string; weight: number }[];
  name: string;
  /** Compress to this rank; omitted = exact (rank = sum of ranks). */
  rank?: number;
}

export interface AdapterBlendRes {
  entry: AdapterEntry;
  mode: 'exact' | 'compressed';
  relativeError: number;
  worst?: { tensor: string; relativeError: number };
}

/** One column of a chat: the base (adapterId null) or a library adapter at a scale. */
export interface ChatColumn {
  adapterId: string | null;
  scale: number;
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

/** A chat request as the IPC validated it: every sampling option present. */
export type ChatGenerateJob = Omit<ChatGenerateReq, 'sampling'> & { sampling: ChatSampling };

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
