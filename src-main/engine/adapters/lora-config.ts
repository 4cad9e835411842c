/**
 * LoRA hyper-parameters with PEFT's meaning, so adapters move between Graft and PEFT unchanged.
 * qkv and gate_up are the fused projections of Phi-3 (PEFT targets them by these names); a training
 * run maps q/k/v and gate/up onto them for such models and back for the others (lora.ts targetsFor).
 */
export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'qkv', 'gate_up'] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

/** PEFT module name of each short target name. */
export const TARGET_MODULE: Record<LoraTarget, string> = {
  q: 'self_attn.q_proj',
  k: 'self_attn.k_proj',
  v: 'self_attn.v_proj',
  o: 'self_attn.o_proj',
  gate: 'mlp.gate_proj',
  up: 'mlp.up_proj',
  down: 'mlp.down_proj',
  qkv: 'self_attn.qkv_proj',
  gate_up: 'mlp.gate_up_proj',
};

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: LoraTarget[];
  /** rsLoRA: scale alpha/sqrt(r) instead of alpha/r. */
  rslora: boolean;
}

export function loraScale(c: Pick<LoraConfig, 'r' | 'alpha' | 'rslora'>): number {
  return c.rslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

/** PEFT tensor name of a LoRA factor, e.g. base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight */
export function peftTensorName(layer: number, target: LoraTarget, factor: 'A' | 'B'): string {
  return `base_model.model.model.layers.${layer}.${TARGET_MODULE[target]}.lora_${factor}.weight`;
}
