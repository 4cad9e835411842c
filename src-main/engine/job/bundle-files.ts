/**
 * The launch side of a job bundle: accelerate configs for FSDP and DeepSpeed ZeRO-3, launch.sh (one node, the
 * multi-node variables documented), a Slurm job.sbatch, pinned requirements and a README. Plain text built
 * from the job's settings; train.py is in train-py.ts.
 */
import type { JobSettings } from './job-settings.js';

/**
 * The versions train.py was written and checked against (the GPU machine of 2026-11: torch 2.11,
 * transformers 5.17, PEFT 0.21, accelerate 1.15), pinned to those release series.
 */
export const PINNED = { torch: '2.11.*', transformers: '5.17.*', peft: '0.21.*', accelerate: '1.15.*', safetensors: '0.7.*' } as const;
/** Only for QLoRA / DeepSpeed; not on the GPU machine the bundle was checked on, so these pins are untested. */
export const PINNED_OPTIONAL = { bitsandbytes: '0.49.*', deepspeed: '0.18.*' } as const;

export function requirementsTxt(s: JobSettings): string {
  const lines = [
    '# Pinned to the release series train.py was checked with; install with: pip install -r requirements.txt',
    ...Object.entries(PINNED).map(([k, v]) => `${k}==${v}`),
  ];
  if (s.method === 'qlora') lines.push(`bitsandbytes==${PINNED_OPTIONAL.bitsandbytes}`);
  lines.push(`# DeepSpeed ZeRO-3 (GRAFT_BACKEND=deepspeed) also needs: deepspeed==${PINNED_OPTIONAL.deepspeed}`);
  return lines.join('\n') + '\n';
}

export function fsdpYaml(s: JobSettings): string {
  return `# accelerate config: PyTorch FSDP, full sharding, one unit per decoder layer.
# use_orig_params lets frozen base weights and trainable LoRA weights share a unit; the full state dict type
# is what lets the main process save the adapter at the end.
compute_environment: LOCAL_MACHINE
distributed_type: FSDP
mixed_precision: ${s.precision === 'bf16' ? 'bf16' : 'no'}
machine_rank: 0
num_machines: 1
num_processes: 1
main_training_function: main
rdzv_backend: static
same_network: true
use_cpu: false
fsdp_config:
  fsdp_version: 1
  fsdp_sharding_strategy: FULL_SHARD
  fsdp_auto_wrap_policy: TRANSFORMER_BASED_WRAP
  fsdp_transformer_layer_cls_to_wrap: ${s.decoder_layer}
  fsdp_backward_prefetch: BACKWARD_PRE
  fsdp_forward_prefetch: false
  fsdp_use_orig_params: true
  fsdp_sync_module_states: true
  fsdp_cpu_ram_efficient_loading: false
  fsdp_offload_params: false
  fsdp_state_dict_type: FULL_STATE_DICT
`;
}

export function deepspeedYaml(s: JobSettings): string {
  return `# accelerate config: DeepSpeed ZeRO stage 3. train.py sets the micro-batch, accumulation and clipping
# from graft-job.json before DeepSpeed starts, so they are not repeated here.
compute_environment: LOCAL_MACHINE
distributed_type: DEEPSPEED
mixed_precision: ${s.precision === 'bf16' ? 'bf16' : 'no'}
machine_rank: 0
num_machines: 1
num_processes: 1
main_training_function: main
rdzv_backend: static
same_network: true
use_cpu: false
deepspeed_config:
  zero_stage: 3
  zero3_init_flag: false
  zero3_save_16bit_model: false
  offload_optimizer_device: none
  offload_param_device: none
  deepspeed_multinode_launcher: standard
`;
}

export function launchSh(): string {
  return `#!/usr/bin/env bash
# Trains this bundle with accelerate on this node: FSDP by default, DeepSpeed ZeRO-3 with GRAFT_BACKEND=deepspeed.
# Arguments go to train.py (e.g. --precision fp32, --out DIR, --model PATH_OR_HUB_ID).
#
#   GRAFT_NPROC        processes (GPUs) on this node (default: every GPU torch sees)
# Multi-node: run this script once on every node with
#   GRAFT_NNODES=N GRAFT_NODE_RANK=<0..N-1> GRAFT_MAIN_ADDR=<host of node 0> [GRAFT_MAIN_PORT=29500]
# (job.sbatch does that under Slurm). The gradient accumulation of the run must be a multiple of the
# total number of processes, so that every optimizer step covers the rows it covers in Graft.
set -euo pipefail
cd "$(dirname "$0")"
BACKEND="\${GRAFT_BACKEND:-fsdp}"
case "$BACKEND" in
  fsdp) CONFIG=accelerate/fsdp.yaml ;;
  deepspeed) CONFIG=accelerate/deepspeed-zero3.yaml ;;
  *) echo "GRAFT_BACKEND must be fsdp or deepspeed, not $BACKEND" >&2; exit 2 ;;
esac
NPROC="\${GRAFT_NPROC:-$(python3 -c 'import torch; print(max(1, torch.cuda.device_count()))')}"
NNODES="\${GRAFT_NNODES:-1}"
export GRAFT_LAUNCHER="accelerate-$BACKEND"
# The accelerate command where pip put it on PATH, else the same launcher through the interpreter.
if command -v accelerate > /dev/null; then LAUNCH=(accelerate launch); else LAUNCH=(python3 -m accelerate.commands.launch); fi
exec "\${LAUNCH[@]}" --config_file "$CONFIG" \\
  --num_machines "$NNODES" --machine_rank "\${GRAFT_NODE_RANK:-0}" \\
  --main_process_ip "\${GRAFT_MAIN_ADDR:-127.0.0.1}" --main_process_port "\${GRAFT_MAIN_PORT:-29500}" \\
  --num_processes "$((NPROC * NNODES))" \\
  train.py "$@"
`;
}

export function jobSbatch(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 40) || 'adapter';
  return `#!/bin/bash
# Slurm: submit from this folder with \`sbatch job.sbatch\`. Change --nodes / --gpus-per-node to taste;
# one task per node runs launch.sh, which starts that node's processes.
#SBATCH --job-name=graft-${safe}
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=8
#SBATCH --cpus-per-task=16
#SBATCH --time=24:00:00
#SBATCH --output=graft-%j.out
set -euo pipefail
cd "\${SLURM_SUBMIT_DIR:-.}"
export GRAFT_NNODES="\${SLURM_NNODES:-1}"
export GRAFT_MAIN_ADDR="$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)"
export GRAFT_NPROC="\${SLURM_GPUS_ON_NODE:-8}"
srun --kill-on-bad-exit=1 bash -c 'GRAFT_NODE_RANK=$SLURM_NODEID exec bash launch.sh "$@"' _ "$@"
`;
}

export function readme(name: string, notes: string[]): string {
  return `# Graft job bundle: ${name}

Written by \`graft job export\` from the same settings a local \`graft train\` run would use. The dataset is
already rendered with the chat template and masked (data/*.jsonl: input_ids and labels, -100 where no loss is
taken), so nothing here needs a tokenizer. graft-job.json holds the settings and the sha256 of every file.

    pip install -r requirements.txt
    python3 train.py --check          # files and data intact (no torch needed)
    bash launch.sh                    # accelerate + FSDP on every GPU of this node
    GRAFT_BACKEND=deepspeed bash launch.sh   # DeepSpeed ZeRO-3 instead
    sbatch job.sbatch                 # under Slurm (multi-node: raise --nodes)

Progress is printed as JSON lines (the events Graft's own runs print) and kept in output/adapter/progress.jsonl.
The finished adapter is output/adapter/: a PEFT folder plus graft.json saying where and on what it was trained.
Bring it back with \`graft adapters import output/adapter --base <the base model>\` (or the Adapters screen).

The rows of every optimizer step, their order, the LoRA initialisation (init/), the learning-rate schedule and
the AdamW settings are Graft's, so on one GPU with \`--precision fp32\` the loss curve follows Graft's local
run closely and with bf16 within bf16's rounding.
${notes.length ? `\nDiffers from the local run:\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}`;
}
