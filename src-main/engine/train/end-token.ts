/**
 * Which token ends a plain-text training row. Normally the model's EOS; but a base model that never saw
 * its EOS in pretraining (llama2.c's TinyStories models separate stories with BOS and never emit EOS) has an
 * untrained EOS output row, and LoRA on the attention and MLP projections cannot raise that logit: such
 * adapters learned every word of their stories and still ran on to max tokens. Rows then end with BOS, the
 * token the model did learn to put between documents, and generation stops at BOS as well.
 */
import type { WeightSource } from '../io/model-source.js';
import type { ModelSpec } from '../models/spec.js';
import type { TextTokenizer } from '../tokenize/types.js';

/**
 * Cosine above which two output rows count as copies. Tokens that never occur as targets all receive the
 * same softmax push and converge to one shared vector (stories260K: EOS, UNK and 250 unused byte tokens agree
 * to 1e-8); distinct trained tokens stay far apart (stories260K's closest trained pair: under 0.9).
 */
const COPY_COSINE = 0.999;

/** The output-projection rows (lm_head, or the tied embedding) as [vocab, hidden]. */
function outputRows(source: WeightSource, spec: ModelSpec): { w: Float32Array; V: number; H: number } | null {
  const name = spec.tiedEmbeddings || !source.has('lm_head.weight') ? 'model.embed_tokens.weight' : 'lm_head.weight';
  if (!source.has(name)) return null;
  const [V, H] = source.shape(name);
  return { w: source.readF32(name), V, H };
}

/** The ids among `ids` whose output row is a near-copy of another token's row: never trained as targets. */
export function untrainedOutputIds(source: WeightSource, spec: ModelSpec, ids: number[]): Set<number> {
  const rows = outputRows(source, spec);
  const out = new Set<number>();
  if (!rows) return out;
  const { w, V, H } = rows;
  const norms = new Float64Array(V);
  for (let j = 0; j < V; j++) {
    let s = 0;
    for (let k = j * H; k < (j + 1) * H; k++) s += w[k] * w[k];
    norms[j] = Math.sqrt(s) || 1;
  }
  for (const id of ids) {
    if (id < 0 || id >= V) continue;
    const a = w.subarray(id * H, (id + 1) * H);
    for (let j = 0; j < V; j++) {
      if (j === id) continue;
      let dot = 0;
      for (let k = 0; k < H; k++) dot += a[k] * w[j * H + k];
      if (dot / (norms[id] * norms[j]) > COPY_COSINE) {
        out.add(id);
        break;
      }
    }
  }
  return out;
}

export interface TextEnd {
  /** The id appended to plain-text rows (null: none). */
  id: number | null;
  /** Set when EOS was replaced, saying why. */
  warning?: string;
}

const memo = new WeakMap<WeightSource, TextEnd>();

/**
 * The end token for plain-text rows and for `eos_token` in chat templates: EOS, or BOS when the model's EOS
 * was never trained and its BOS was. Remembered per loaded model, so chat can ask at every reply.
 */
export function textEndToken(source: WeightSource, spec: ModelSpec, tok: TextTokenizer): TextEnd {
  let end = memo.get(source);
  if (!end) memo.set(source, (end = chooseTextEnd(source, spec, tok)));
  return end;
}

function chooseTextEnd(source: WeightSource, spec: ModelSpec, tok: TextTokenizer): TextEnd {
  const eos = tok.eosIds[0] ?? null;
  const bos = tok.bosId;
  if (eos === null || bos === null || bos === eos) return { id: eos };
  const untrained = untrainedOutputIds(source, spec, [eos, bos]);
  if (!untrained.has(eos) || untrained.has(bos)) return { id: eos };
  return {
    id: bos,
    warning:
      `the model never learned to produce its end-of-sequence token ${tok.tokenText(eos)} (its output row is untrained), ` +
      `so plain-text rows end with ${tok.tokenText(bos)}, the token it puts between documents; generation stops there too`,
  };
}
