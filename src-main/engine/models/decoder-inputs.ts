/**
 * Host-side inputs of the decoder graphs (models/decoder.ts) that training, generation, GPTQ calibration and
 * the reference check all feed: the causal mask and the positions. Here, below all four, so none imports another.
 */
/** Additive causal mask [B, 1, 1, T, T]: 0 where a query may attend, a large negative elsewhere. */
export function causalMask(batch: number, seq: number, neg = -1e9): Float32Array {
  const m = new Float32Array(batch * seq * seq);
  for (let b = 0; b < batch; b++) for (let i = 0; i < seq; i++) for (let j = i + 1; j < seq; j++) m[b * seq * seq + i * seq + j] = neg;
  return m;
}

export function positionRange(batch: number, seq: number, start = 0): Int32Array {
  const p = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) for (let t = 0; t < seq; t++) p[b * seq + t] = start + t;
  return p;
}
