/**
 * Finite-difference check of gradient rules on float64 graphs: the graph computes
 * L = Σ f(inputs) ⊙ R for a fixed random R, plus ∂L/∂input for each checked input via autodiff;
 * central differences of L (h = 1e-6) must agree with the autodiff result to rel err ≤ 1e-6.
 */
import { backward } from '../../../src-main/engine/autodiff/backward.js';
import { Graph, numel, type Value } from '../../../src-main/engine/graph/ir.js';
import { mul, reduceSum } from '../../../src-main/engine/ops/index.js';
import { resolveDevice } from '../../../src-main/engine/runtime/device.js';
import { GraphSession } from '../../../src-main/engine/runtime/session.js';

export interface InputSpec {
  shape: number[];
  /** Values are drawn in [lo, hi); keep them away from singularities (log, sqrt, 1/x). */
  lo?: number;
  hi?: number;
  /** Not differentiated (e.g. a constant operand). */
  fixed?: boolean;
}

let seed = 12345;
function rand(): number {
  // xorshift: deterministic test data without a dependency
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return ((seed >>> 0) % 1_000_000) / 1_000_000;
}

export async function gradCheck(specs: InputSpec[], build: (g: Graph, xs: Value[]) => Value): Promise<number> {
  const g = new Graph('fd');
  const xs = specs.map((s, i) => g.input(`x${i}`, 'float64', s.shape));
  const y = build(g, xs);
  const r = g.init('r', { dtype: 'float64', shape: y.shape, data: Float64Array.from({ length: numel(y.shape) }, () => rand() * 2 - 1) });
  const loss = reduceSum(g, mul(g, y, r), y.shape.map((_, i) => i));
  const checked = xs.filter((_, i) => !specs[i].fixed);
  const { grads } = backward(g, loss, checked);
  g.output(loss, 'loss');
  grads.forEach((d, i) => g.output(d, `grad${i}`));
  const session = await GraphSession.create(g, { device: await resolveDevice('cpu') });

  const data = specs.map((s) => {
    const lo = s.lo ?? -1;
    const hi = s.hi ?? 1;
    return Float64Array.from({ length: numel(s.shape) }, () => lo + (hi - lo) * rand());
  });
  const feeds = () => Object.fromEntries(data.map((d, i) => [`x${i}`, { dtype: 'float64' as const, shape: specs[i].shape, data: d }]));
  const lossAt = async () => ((await session.run(feeds())).loss as { data: Float64Array }).data[0];
  const base = await session.run(feeds());

  let worst = 0;
  let k = 0;
  for (let i = 0; i < specs.length; i++) {
    if (specs[i].fixed) continue;
    const analytic = (base[`grad${k++}`] as { data: Float64Array }).data;
    const h = 1e-6;
    let num2 = 0;
    let diff2 = 0;
    for (let j = 0; j < data[i].length; j++) {
      const x0 = data[i][j];
      data[i][j] = x0 + h;
      const lp = await lossAt();
      data[i][j] = x0 - h;
      const lm = await lossAt();
      data[i][j] = x0;
      const fd = (lp - lm) / (2 * h);
      num2 += fd * fd;
      diff2 += (fd - analytic[j]) ** 2;
    }
    worst = Math.max(worst, Math.sqrt(diff2) / Math.max(Math.sqrt(num2), 1e-12));
  }
  await session.release();
  return worst;
}
