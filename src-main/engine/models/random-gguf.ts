/**
 * A random llama GGUF whose rows are whole 256-element blocks (stories260K's 64 are not), with the tokenizer
 * metadata of another GGUF: what a merged Q4_K_M export needs to be tested in Q4_K and Q6_K blocks (the merged
 * GGUF test, and the llama.cpp check on the GPU machine, bench/gpu-checks/merged-export.sh).
 */
import { openGguf, typedMetadata } from '../io/gguf.js';
import { GgufValueType } from '../io/gguf-types.js';
import { writeGguf, type GgufTensorToWrite } from '../io/gguf-write.js';

export interface WideGgufShape {
  hidden: number;
  ffn: number;
  layers: number;
  heads: number;
  kvHeads: number;
}

export const WIDE_LLAMA: WideGgufShape = { hidden: 256, ffn: 512, layers: 2, heads: 4, kvHeads: 2 };

/** `tokenizerFrom`'s metadata (a llama GGUF) with the shape's hyper-parameters; weights uniform, scaled by fan-in. */
export async function writeWideLlamaGguf(file: string, tokenizerFrom: string, shape: WideGgufShape = WIDE_LLAMA, seed = 3): Promise<void> {
  const src = openGguf(tokenizerFrom);
  const md = typedMetadata(src);
  src.close();
  const vocab = (md['tokenizer.ggml.tokens'] as { value: unknown[] }).value.length;
  const u32 = (value: number) => ({ type: GgufValueType.UINT32, value }) as const;
  Object.assign(md, {
    'llama.embedding_length': u32(shape.hidden),
    'llama.feed_forward_length': u32(shape.ffn),
    'llama.block_count': u32(shape.layers),
    'llama.attention.head_count': u32(shape.heads),
    'llama.attention.head_count_kv': u32(shape.kvHeads),
    'llama.rope.dimension_count': u32(shape.hidden / shape.heads),
  });
  let s = seed;
  const rand = (scale: number) => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648 - 0.5) * 2 * scale;
  const t = (name: string, dims: number[], scale: number, fill?: number): GgufTensorToWrite => ({
    name,
    shape: dims,
    type: 'F32',
    data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => fill ?? rand(scale)),
  });
  const { hidden, ffn } = shape;
  const kvDim = (hidden / shape.heads) * shape.kvHeads, w = 1 / Math.sqrt(hidden);
  const tensors = [t('token_embd.weight', [vocab, hidden], 1), t('output_norm.weight', [hidden], 0, 1), t('output.weight', [vocab, hidden], 0.1)];
  for (let l = 0; l < shape.layers; l++) {
    tensors.push(
      t(`blk.${l}.attn_norm.weight`, [hidden], 0, 1),
      t(`blk.${l}.ffn_norm.weight`, [hidden], 0, 1),
      t(`blk.${l}.attn_q.weight`, [hidden, hidden], 2 * w),
      t(`blk.${l}.attn_k.weight`, [kvDim, hidden], 2 * w),
      t(`blk.${l}.attn_v.weight`, [kvDim, hidden], w),
      t(`blk.${l}.attn_output.weight`, [hidden, hidden], w),
      t(`blk.${l}.ffn_gate.weight`, [ffn, hidden], w),
      t(`blk.${l}.ffn_up.weight`, [ffn, hidden], w),
      t(`blk.${l}.ffn_down.weight`, [hidden, ffn], 1 / Math.sqrt(ffn)),
    );
  }
  await writeGguf(file, md, tensors);
}
