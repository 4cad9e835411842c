/** LoRA hyper-parameters with PEFT's meaning, so adapters move between Graft and PEFT unchanged. */
/** The targets a user picks (GUI, --targets default): the attention and MLP projections of every family. */
export const LORA_TARGETS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const;
/**
 * Every projection Graft adapts: LORA_TARGETS and Phi-3's fused qkv and gate_up (PEFT targets them by
 * these names). A training run maps q/k/v and gate/up onto them for such models and back for the
 * others (lora.ts targetsFor); adapters read from files may name either.
 */
export const MODULE_TARGETS = [...LORA_TARGETS, 'qkv', 'gate_up'] as const;
export type LoraTarget = (typeof MODULE_TARGETS)[number];

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
