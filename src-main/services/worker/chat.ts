/**
 * The engine worker's methods for the Chat screen: batched generation with streamed tokens, on the worker thread
 * so the UI and the host's event loop never wait on it.
 */
import { baseShapesOf, checkCompatibility, inspectPeftAdapter, readAdapterWeights } from '../../engine/adapters/compat.js';
import type { AdapterWeights } from '../../engine/adapters/adapter-weights.js';
import { chatRenderer, chatStops } from '../../engine/data/chat-template.js';
import { samplerOptions } from '../../engine/options/generate.js';
import { textEndToken } from '../../engine/train/end-token.js';
import { holdTraining } from './priority.js';
import { GraftError } from '../../engine/errors.js';
import { generate, type Variant } from '../../engine/infer/generate.js';
import { composeRow, type LoadedMethod } from '../../engine/adapters/compose.js';
import { readMethodFolder, type MethodFolder } from '../../engine/adapters/method-folder.js';
import { isMethodEntry } from '../../store/import-method.js';
import { loadModel, type LoadedModel } from '../../engine/model.js';
import { resolveDevice } from '../../engine/runtime/device.js';
import type { TextTokenizer } from '../../engine/tokenize/types.js';
import { AdapterLibrary, type LibraryEntry } from '../../store/library.js';
import type { ChatColumnJob, ChatGenerateJob, ChatGenerateRes, ChatTokenEvent } from '../../ipc/chat';
import type { WithLibrary } from './adapters.js';

/** Merged into the worker protocol's WorkerMethods. */
export interface ChatWorkerMethods {
  'chat.generate': { params: WithLibrary<ChatGenerateJob>; result: ChatGenerateRes };
  'chat.stop': { params: { runId: string }; result: { stopped: boolean } };
}

type Methods = { [M in keyof ChatWorkerMethods]: (p: ChatWorkerMethods[M]['params']) => Promise<ChatWorkerMethods[M]['result']> };

export type EmitChatToken = (stream: 'chat.token', event: ChatTokenEvent) => void;

/** One base model stays loaded between turns; switching models closes the old one. */
interface Loaded {
  path: string;
  model: LoadedModel;
  tokenizer: TextTokenizer | null;
}

export function chatMethods(emit: EmitChatToken): Methods {
  let loaded: Loaded | null = null;
  const adapters = new Map<string, { weights: AdapterWeights; checkedFor: string }>();
  const methods = new Map<string, { folder: MethodFolder; checkedFor: string }>();
  const running = new Map<string, AbortController>();

  async function model(p: string): Promise<Loaded> {
    if (loaded?.path === p) return loaded;
    loaded?.model.source.close();
    loaded = null;
    adapters.clear();
    methods.clear();
    const m = await loadModel(p);
    loaded = { path: p, model: m, tokenizer: await m.source.tokenizer() };
    return loaded;
  }

  /** A library adapter read for this base: LoRA weights, or a method folder (DoRA, IA³, prefix, bottleneck, BitFit). */
  async function libraryAdapter(lib: AdapterLibrary, id: string, base: Loaded): Promise<{ lora: AdapterWeights } | { method: MethodFolder; name: string }> {
    const entry = await lib.get(id);
    if (!isMethodEntry(entry.meta)) return { lora: await adapterWeights(entry, base) };
    const key = `${entry.dir}@${entry.meta.created}`;
    const hit = methods.get(key);
    if (hit?.checkedFor === base.path) return { method: hit.folder, name: entry.meta.name };
    // readMethodFolder builds the method for this base and checks every tensor's name and shape against it
    const folder = readMethodFolder(entry.dir, base.model.spec);
    methods.set(key, { folder, checkedFor: base.path });
    return { method: folder, name: entry.meta.name };
  }

  /** One column's row: its LoRA adapters applied together, its method adapters composed as the column says (adapters/compose.ts). */
  async function columnVariant(lib: AdapterLibrary, c: ChatColumnJob, base: Loaded): Promise<Variant> {
    const variant: Variant = { adapters: [] };
    if (c.adapterId === null) return variant;
    const loaded: LoadedMethod[] = [];
    for (const part of [{ adapterId: c.adapterId, weight: c.scale }, ...c.composed]) {
      const a = await libraryAdapter(lib, part.adapterId, base);
      if ('lora' in a) variant.adapters.push({ weights: a.lora, scale: part.weight });
      else loaded.push({ adapter: a.method.method, tensors: a.method.tensors, weight: part.weight, label: a.name });
    }
    const row = composeRow(base.model.source, base.model.spec, loaded, c.compose);
    if (row) variant.method = { adapter: row.adapter, tensors: row.tensors };
    return variant;
  }

  async function adapterWeights(entry: LibraryEntry, base: Loaded): Promise<AdapterWeights> {
    const key = `${entry.dir}@${entry.meta.created}`;
    const hit = adapters.get(key);
    if (hit?.checkedFor === base.path) return hit.weights;
    const info = inspectPeftAdapter(entry.dir);
    checkCompatibility(
      { ...info, arch: entry.meta.base?.arch || undefined, label: `adapter ${entry.meta.name}` },
      baseShapesOf(base.model.source),
    );
    const weights = readAdapterWeights(entry.dir);
    adapters.set(key, { weights, checkedFor: base.path });
    return weights;
  }

  return {
    'chat.generate': async (req) => {
      if (running.has(req.runId)) throw new GraftError('BAD_INPUT', `run ${req.runId} is already going`, { where: 'runId' });
      const controller = new AbortController();
      running.set(req.runId, controller);
      try {
        const base = await model(req.model);
        const tok = base.tokenizer;
        if (!tok) throw new GraftError('NOT_FOUND', `${req.model}: the model has no tokenizer to chat with`, { file: req.model });
        const lib = await AdapterLibrary.open(req.library);
        const variants: Variant[] = [];
        for (const c of req.columns) variants.push(await columnVariant(lib, c, base));
        let templateWarning: string | undefined;
        let prompt: number[];
        let endOfTurn: { ids: number[]; texts: string[] } | undefined;
        if (req.promptFormat === 'template') {
          const render = chatRenderer(tok, { warn: (m) => (templateWarning = m), endToken: textEndToken(base.model.source, base.model.spec, tok).id });
          prompt = tok.encode(render.render(req.messages, true), { addSpecial: false });
          endOfTurn = chatStops(tok, render);
        } else {
          prompt = tok.encode(req.messages.map((m) => m.content).join('\n'), { addSpecial: true });
        }
        const s = req.sampling;
        // A training run on this engine waits between its steps while the reply decodes (chat first).
        const training = await holdTraining(controller.signal);
        const results = await generate({
          model: base.model,
          device: await resolveDevice(req.device),
          tokenizer: tok,
          prompt,
          variants,
          maxTokens: s.maxTokens,
          sampling: samplerOptions(s),
          endOfTurn,
          overflow: 'truncate',
          signal: controller.signal,
          onToken: (variant, t) => {
            if (t.text) emit('chat.token', { runId: req.runId, variant, text: t.text });
          },
        }).finally(training.release);
        return {
          results: results.map((r) => ({
            text: r.text,
            finish: r.finish,
            tokens: r.ids.length,
            ttftMs: r.ttftMs,
            tokensPerSecond: r.tokensPerSecond,
          })),
          templateWarning,
          promptTokens: prompt.length,
          trainingHeld: training.held,
        };
      } finally {
        running.delete(req.runId);
      }
    },

    'chat.stop': async ({ runId }) => {
      const c = running.get(runId);
      c?.abort();
      return { stopped: c !== undefined };
    },
  };
}
