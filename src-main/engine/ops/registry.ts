/**
 * The gradient table: one rule per ONNX op, registered by the op family file that also builds the
 * forward. A rule gets the node, the gradients of its outputs (null = no gradient flows there) and
 * which inputs need a gradient, and returns one gradient (or null) per input.
 */
import type { Graph, Node, Value } from '../graph/ir.js';

export type GradRule = (g: Graph, node: Node, dOut: readonly (Value | null)[], needs: readonly boolean[]) => (Value | null)[];

const rules = new Map<string, GradRule>();

export function defineGrad(op: string, rule: GradRule, domain = ''): void {
  const key = domain ? `${domain}::${op}` : op;
  if (rules.has(key)) throw new Error(`gradient rule for ${key} defined twice`);
  rules.set(key, rule);
}

export function gradRule(node: Node): GradRule | undefined {
  return rules.get(node.domain ? `${node.domain}::${node.op}` : node.op);
}

export function registeredGradOps(): string[] {
  return [...rules.keys()].sort();
}
