import { GraftError } from '../errors.js';
import { printable } from '../printable.js';
import { openGguf } from './gguf.js';
import { GGUF_FAMILIES } from './gguf-families.js';
import { ggufToHfName, hfToGgufName, permuteRows, unpermuteRows } from './gguf-hf.js';
import { gguf } from './gguf-types.js';
import { writeGguf, type GgufTensorToWrite } from './gguf-write.js';
import type { HfConfig } from './hf-config.js';
import { checkPairs, parsePeftName, peftName, type PeftAdapter, type PeftTensor } from './peft.js';

/**
 * llama.cpp LoRA adapters in GGUF (what convert_lora_to_gguf.py writes and llama.cpp / Ollama load):
 * general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32), tensors
 * `blk.N.attn_q.weight.lora_a` [r, in] and `.lora_b` [out, r] (row-major, the same layout as PEFT's A and B).
 * llama.cpp scales by alpha / r. For Llama the converter permutes Q/K rows, which for a LoRA pair
 * touches only B's rows (A's rows are the rank); so B of q_proj/k_proj is permuted on export and
 * un-permuted on import, with n_head for q and n_head_kv for k.
 */

const GGUF_ARCH: Record<string, string> = {
  MistralForCausalLM: 'llama',
  ...Object.fromEntries(Object.entries(GGUF_FAMILIES).map(([g, f]) => [f.hf, g])),
};

export function ggufArchitectureOf(config: HfConfig): string {
  const arch = config.architectures?.[0] ?? '';
  const g = GGUF_ARCH[arch];
  if (!g) throw new GraftError('UNSUPPORTED', `architecture ${JSON.stringify(arch)} has no llama.cpp equivalent Graft knows`, { where: 'architectures' });
  return g;
}

/** Heads for the Q/K row permutation of `module`, or null when no permutation applies. */
function permuteHeads(ggufArch: string, module: string, config: HfConfig): number | null {
  if (!GGUF_FAMILIES[ggufArch]?.permuteQK) return null;
  if (module.endsWith('self_attn.q_proj')) return config.num_attention_heads;
  if (module.endsWith('self_attn.k_proj')) return config.num_key_value_heads ?? config.num_attention_heads;
  return null;
}

export interface GgufLoraInput {
  config: { r: number; lora_alpha: number; use_rslora?: boolean };
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
}

/**
 * Export a LoRA adapter (PEFT names) as a llama.cpp GGUF LoRA for the base model described by `base`.
 * rsLoRA's scale alpha/sqrt(r) is expressed as alpha' = alpha*sqrt(r), since llama.cpp always uses alpha/r.
 */
export async function writeGgufLora(path: string, adapter: GgufLoraInput, base: HfConfig, opts: { type?: 'F32' | 'F16'; name?: string } = {}): Promise<void> {
  const arch = ggufArchitectureOf(base);
  const { r, lora_alpha, use_rslora } = adapter.config;
  const alpha = use_rslora ? lora_alpha * Math.sqrt(r) : lora_alpha;
  const tensors: GgufTensorToWrite[] = [];
  for (const [name, t] of adapter.tensors) {
    const p = parsePeftName(name);
    const g = p && hfToGgufName(`${p.module}.weight`, arch);
    if (!p || !g) throw new GraftError('UNSUPPORTED', `tensor ${name} has no llama.cpp equivalent`, { where: name });
    let data = t.data;
    const heads = p.factor === 'B' ? permuteHeads(arch, p.module, base) : null;
    if (heads !== null) data = permuteRows(data, t.shape[0], t.shape[1], heads);
    tensors.push({ name: `${g}.lora_${p.factor.toLowerCase()}`, shape: t.shape, type: opts.type ?? 'F32', data });
  }
  tensors.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  await writeGguf(path, {
    'general.architecture': arch,
    'general.type': 'adapter',
    'general.name': opts.name ?? 'graft-lora',
    'adapter.type': 'lora',
    'adapter.lora.alpha': gguf.f32(alpha),
  }, tensors);
}

/**
 * Read a llama.cpp GGUF LoRA into PEFT names and layout (float32). `base` supplies the head counts needed
 * to undo the Q/K permutation of Llama adapters.
 */
export function readGgufLora(path: string, base: HfConfig): PeftAdapter {
  const g = openGguf(path);
  try {
    const md = g.metadata;
    if (md['general.type'] !== 'adapter' || md['adapter.type'] !== 'lora') {
      throw new GraftError('BAD_INPUT', `${path}: not a LoRA adapter GGUF (general.type=${printable(JSON.stringify(md['general.type']) ?? 'none')}, adapter.type=${printable(JSON.stringify(md['adapter.type']) ?? 'none')})`, { file: path, where: 'adapter.type' });
    }
    const arch = md['general.architecture'];
    const baseArch = ggufArchitectureOf(base);
    if (arch !== baseArch) {
      throw new GraftError('INCOMPATIBLE', `${path}: adapter is for architecture ${printable(JSON.stringify(arch) ?? 'none')}, the base model is ${baseArch}`, { file: path, where: 'general.architecture' });
    }
    const alpha = md['adapter.lora.alpha'];
    if (typeof alpha !== 'number' || !Number.isFinite(alpha)) {
      // NaN would be written to adapter_config.json as null: an import that succeeds but can never be used
      const why = typeof alpha === 'number' ? `is ${alpha}, not a finite number` : 'is missing';
      throw new GraftError('BAD_FILE', `${path}: adapter.lora.alpha ${why}`, { file: path, where: 'adapter.lora.alpha' });
    }
    const tensors = new Map<string, PeftTensor>();
    const modules = new Set<string>();
    let r = 0;
    for (const name of g.names()) {
      const m = /^(.+)\.lora_([ab])$/.exec(name);
      const hf = m && ggufToHfName(m[1], baseArch);
      if (!m || !hf) throw new GraftError('BAD_FILE', `${path}: tensor ${printable(name)} is not a LoRA factor of a known module`, { file: path, where: printable(name) });
      const module = hf.replace(/\.weight$/, '');
      const factor = m[2] === 'a' ? 'A' : 'B';
      const shape = [...g.info(name).shape];
      if (shape.length !== 2) throw new GraftError('BAD_FILE', `${path}: tensor ${printable(name)} is not 2-D`, { file: path, where: printable(name) });
      let data = g.readF32(name);
      const heads = factor === 'B' ? permuteHeads(baseArch, module, base) : null;
      if (heads !== null) data = unpermuteRows(data, shape[0], shape[1], heads);
      if (factor === 'A') r = Math.max(r, shape[0]);
      modules.add(module.split('.').pop()!);
      const raw = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      tensors.set(peftName(module, factor), { dtype: 'F32', shape, data, raw });
    }
    // Every A needs its B of the same rank (and B its A): a lone factor would fail later, away from the file.
    checkPairs(tensors, path);
    for (const [name, t] of tensors) {
      if (name.includes('.lora_B.') && !tensors.has(name.replace('.lora_B.', '.lora_A.'))) {
        throw new GraftError('BAD_FILE', `${path}: tensor ${name} has no matching lora_A`, { file: path, where: name });
      }
      if (name.includes('.lora_A.') && t.shape[0] !== r) {
        throw new GraftError('BAD_FILE', `${path}: tensor ${name} has rank ${t.shape[0]}, the others ${r}`, { file: path, where: name });
      }
    }
    const target_modules = [...modules].sort();
    const rawConfig = {
      peft_type: 'LORA', task_type: 'CAUSAL_LM', base_model_name_or_path: null, r, lora_alpha: alpha, lora_dropout: 0,
      target_modules, bias: 'none', use_rslora: false, use_dora: false, fan_in_fan_out: false, inference_mode: true,
    };
    return {
      config: { r, lora_alpha: alpha, target_modules, lora_dropout: 0, use_rslora: false, base_model_name_or_path: null, raw: rawConfig },
      tensors,
    };
  } finally {
    g.close();
  }
}
