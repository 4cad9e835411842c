import type { AdamWHyper, StepRunner, TensorMap, TokenBatch, TrainerState } from '../../../src-main/engine/train/types.js';

/**
 * A real, tiny StepRunner for testing the loop: a rank-2 factorised regression. For each position with a
 * label, the prediction A[inputId] · B is pulled toward target(label); the loss is 0.5·(pred − target)² summed
 * over tokens, gradients are exact, and AdamW (with bias correction, decoupled weight decay and global-norm
 * clipping) updates A and B. Every number the loop sees comes out of this arithmetic.
 */
export class LeastSquaresRunner implements StepRunner {
  readonly A: Float32Array;
  readonly B: Float32Array;
  private gA: Float64Array;
  private gB: Float64Array;
  private mA: Float32Array;
  private vA: Float32Array;
  private mB: Float32Array;
  private vB: Float32Array;
  readonly applied: AdamWHyper[] = [];
  /** Micro-batches accumulated so far: state a checkpoint must carry (as a real runner's dropout counter). */
  counter = 0;

  constructor(
    readonly vocab: number,
    seed = 1,
  ) {
    this.A = new Float32Array(vocab * 2);
    let s = seed;
    for (let i = 0; i < this.A.length; i++) {
      s = (s * 1103515245 + 12345) % 2147483648;
      this.A[i] = (s / 2147483648 - 0.5) * 0.2;
    }
    this.B = new Float32Array([0.3, -0.2]);
    this.gA = new Float64Array(vocab * 2);
    this.gB = new Float64Array(2);
    this.mA = new Float32Array(vocab * 2);
    this.vA = new Float32Array(vocab * 2);
    this.mB = new Float32Array(2);
    this.vB = new Float32Array(2);
  }

  static target(label: number): number {
    return ((label % 7) - 3) / 3;
  }

  private forward(batch: TokenBatch, grad: boolean): { lossSum: number; tokens: number } {
    let lossSum = 0;
    let tokens = 0;
    for (let i = 0; i < batch.labels.length; i++) {
      const label = batch.labels[i];
      if (label === -100) continue;
      const id = batch.inputIds[i];
      const a0 = this.A[id * 2];
      const a1 = this.A[id * 2 + 1];
      const err = a0 * this.B[0] + a1 * this.B[1] - LeastSquaresRunner.target(label);
      lossSum += 0.5 * err * err;
      tokens++;
      if (grad) {
        this.gA[id * 2] += err * this.B[0];
        this.gA[id * 2 + 1] += err * this.B[1];
        this.gB[0] += err * a0;
        this.gB[1] += err * a1;
      }
    }
    return { lossSum, tokens };
  }

  async accumulate(batch: TokenBatch) {
    this.counter++;
    return this.forward(batch, true);
  }

  async evalLoss(batch: TokenBatch) {
    return this.forward(batch, false);
  }

  async apply(hp: AdamWHyper, tokens: number) {
    this.applied.push({ ...hp });
    let sq = 0;
    for (const g of [this.gA, this.gB]) for (let i = 0; i < g.length; i++) sq += (g[i] / tokens) ** 2;
    const gradNorm = Math.sqrt(sq);
    const clip = hp.maxGradNorm && gradNorm > hp.maxGradNorm ? hp.maxGradNorm / gradNorm : 1;
    const bc1 = 1 - hp.beta1 ** hp.step;
    const bc2 = 1 - hp.beta2 ** hp.step;
    const update = (p: Float32Array, g: Float64Array, m: Float32Array, v: Float32Array) => {
      for (let i = 0; i < p.length; i++) {
        const gi = (g[i] / tokens) * clip;
        m[i] = hp.beta1 * m[i] + (1 - hp.beta1) * gi;
        v[i] = hp.beta2 * v[i] + (1 - hp.beta2) * gi * gi;
        p[i] -= hp.lr * (m[i] / bc1 / (Math.sqrt(v[i] / bc2) + hp.eps) + hp.weightDecay * p[i]);
        g[i] = 0;
      }
    };
    update(this.A, this.gA, this.mA, this.vA);
    update(this.B, this.gB, this.mB, this.vB);
    return { gradNorm };
  }

  async getState(): Promise<TrainerState> {
    const map = (a: Float32Array, b: Float32Array): TensorMap =>
      new Map([
        ['lora_A', { shape: [this.vocab, 2], data: a.slice() }],
        ['lora_B', { shape: [2], data: b.slice() }],
      ]);
    return { lora: map(this.A, this.B), m: map(this.mA, this.mB), v: map(this.vA, this.vB), counter: this.counter };
  }

  async setState(s: TrainerState) {
    this.A.set(s.lora.get('lora_A')!.data);
    this.B.set(s.lora.get('lora_B')!.data);
    this.mA.set(s.m.get('lora_A')!.data);
    this.mB.set(s.m.get('lora_B')!.data);
    this.vA.set(s.v.get('lora_A')!.data);
    this.vB.set(s.v.get('lora_B')!.data);
    this.counter = s.counter ?? 0;
  }

  async dispose() {}
}
