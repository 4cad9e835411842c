#!/usr/bin/env bash
# Issue 19, acceptance 1 and 2, step 2 of 3 — on the GPU machine (one GPU; Python with torch, transformers,
# PEFT, accelerate; no Node needed), after bench/gpu-checks/job-bundle-prepare.sh here, with carry [".gpu"]:
#   bash bench/gpu-checks/job-bundle-1gpu.sh
# Writes under $OUT:
#   check.json          train.py --check (hashes of every bundle file)
#   configs.json        both accelerate configs through accelerate's own loader (DeepSpeed itself is not run)
#   fsdp-bf16/          acceptance 1: launch.sh, i.e. accelerate launch + FSDP (world size 1), bf16, all 40 steps:
#                       the PEFT adapter, graft.json (remote: host, GPU, distributed FSDP) and progress.jsonl
#   plain-fp32/ plain-bf16/ fsdp-fp32/   acceptance 2: the first 20 steps of train.py alone (fp32, bf16) and
#                       under FSDP in fp32
#   equivalence.json    each run's curve against Graft's local CPU run (.gpu/job/local.jsonl), with the
#                       tolerances of job_compare.py (fp32 1e-3, bf16 3e-2 relative); exit 1 if out of tolerance
# Then step 3 here: bash bench/gpu-checks/job-bundle-import.sh <files_at>/fsdp-bf16
set -uo pipefail
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1  # the GPU machine reaches nothing outside
cd "$(dirname "$0")/../.."
OUT="$(mkdir -p "${OUT:-/tmp/graft-job-out}" && cd "${OUT:-/tmp/graft-job-out}" && pwd)"
B="$PWD/.gpu/job/bundle"
CMP="$PWD/bench/gpu-checks/job_compare.py"
python3 -c 'import torch, transformers, peft, accelerate, platform; print({"python": platform.python_version(), "torch": torch.__version__, "transformers": transformers.__version__, "peft": peft.__version__, "accelerate": accelerate.__version__, "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]})' | tee "$OUT/versions.txt"
python3 "$B/train.py" --check > "$OUT/check.json" || { cat "$OUT/check.json"; exit 1; }
python3 "$CMP" configs "$B" > "$OUT/configs.json"; echo "configs valid: $?"
status=0
GRAFT_NPROC=1 bash "$B/launch.sh" --out "$OUT/fsdp-bf16" > "$OUT/fsdp-bf16.log" 2>&1 || status=1
tail -n 3 "$OUT/fsdp-bf16.log"
python3 "$B/train.py" --precision fp32 --max-steps 20 --out "$OUT/plain-fp32" > "$OUT/plain-fp32.log" 2>&1 || status=1
python3 "$B/train.py" --precision bf16 --max-steps 20 --out "$OUT/plain-bf16" > "$OUT/plain-bf16.log" 2>&1 || status=1
GRAFT_NPROC=1 bash "$B/launch.sh" --precision fp32 --max-steps 20 --out "$OUT/fsdp-fp32" > "$OUT/fsdp-fp32.log" 2>&1 || status=1
python3 "$CMP" compare "$PWD/.gpu/job/local.jsonl" 20 "$OUT/plain-fp32" "$OUT/fsdp-fp32" "$OUT/plain-bf16" "$OUT/fsdp-bf16" > "$OUT/equivalence.json" || status=1
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("pass" if r["pass"] else "FAIL", {k: (v["precision"], v["maxRel"], v["pass"]) for k, v in r["runs"].items()}, "bundle bf16 vs fp32:", r.get("bundleBf16VsFp32MaxRel"))' "$OUT/equivalence.json"
grep -h '"remote"' "$OUT/fsdp-bf16/graft.json" >/dev/null && python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["remote"])' "$OUT/fsdp-bf16/graft.json"
exit $status
