#!/usr/bin/env bash
# Issue 20 (the multi-GPU run of issue 19's bundle) — on a 2-GPU machine (kind nvidia-h200-x2), after
# bench/gpu-checks/job-bundle-prepare.sh here, with carry [".gpu"]:
#   bash bench/gpu-checks/job-bundle-fsdp-2gpu.sh
# Under $OUT:
#   stories-fsdp2/      the stories260K name task (bundle-ga2: batch 2 × accumulation 2, so each of the 2
#                       processes takes one micro-batch of every step) under accelerate + FSDP on 2 GPUs, bf16
#   stories-fsdp2-fp32/ the same, fp32, first 20 steps; equivalence-2gpu.json compares both with Graft's local
#                       run of the same settings (.gpu/job/local-ga2.jsonl), tolerances as for one GPU
#   qwen-fsdp2/         a Qwen2.5-0.5B-shaped random model (made here by Graft's engine, bf16 on disk) trained
#                       30 steps under FSDP on 2 GPUs, then imported back through Graft's library import
#   times.txt           wall time of each run
set -uo pipefail
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1  # the GPU machine reaches nothing outside
cd "$(dirname "$0")/../.."
OUT="$(mkdir -p "${OUT:-/tmp/graft-job-out}" && cd "${OUT:-/tmp/graft-job-out}" && pwd)"
J="$PWD/.gpu/job"
CMP="$PWD/bench/gpu-checks/job_compare.py"
status=0
nvidia-smi -L | tee "$OUT/gpus.txt"
t0=$(date +%s)
GRAFT_NPROC=2 bash "$J/bundle-ga2/launch.sh" --out "$OUT/stories-fsdp2" > "$OUT/stories-fsdp2.log" 2>&1 || status=1
t1=$(date +%s)
GRAFT_NPROC=2 bash "$J/bundle-ga2/launch.sh" --precision fp32 --max-steps 20 --out "$OUT/stories-fsdp2-fp32" > "$OUT/stories-fsdp2-fp32.log" 2>&1 || status=1
echo "stories fsdp 2 gpus bf16 40 steps: $((t1 - t0)) s" | tee "$OUT/times.txt"
python3 "$CMP" compare "$J/local-ga2.jsonl" 20 "$OUT/stories-fsdp2-fp32" "$OUT/stories-fsdp2" > "$OUT/equivalence-2gpu.json" || status=1
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("2-gpu equivalence:", "pass" if r["pass"] else "FAIL", {k: (v["maxRel"], v["pass"]) for k, v in r["runs"].items()})' "$OUT/equivalence-2gpu.json"

# The Qwen2.5-0.5B-shaped model: Node from .gpu/prelude.sh runs Graft's engine to write the model and the bundle.
source .gpu/prelude.sh
Q=/tmp/graft-qwen-job
rm -rf "$Q"; mkdir -p "$Q"
node .gpu/graft-job.cjs qwen-bundle "$Q" "$J/tok" "$J/zara.txt" | tee "$OUT/qwen-bundle.json" || status=1
t2=$(date +%s)
GRAFT_NPROC=2 bash "$Q/qwen-bundle/launch.sh" --out "$OUT/qwen-fsdp2" > "$OUT/qwen-fsdp2.log" 2>&1 || status=1
t3=$(date +%s)
echo "qwen2.5-0.5b-shape fsdp 2 gpus bf16 30 steps: $((t3 - t2)) s" | tee -a "$OUT/times.txt"
tail -n 3 "$OUT/qwen-fsdp2.log"
mkdir -p "$Q/lib"
node .gpu/graft-job.cjs import "$OUT/qwen-fsdp2" "$Q/qwen2.5-0.5b-shape" "$Q/lib" | tee "$OUT/qwen-import.json" || status=1
exit $status
