# NOTE (2026-12-03): GRAFT_EP_CONFIG never reached the EP (onnxruntime-node appends the EP before it applies
# session config entries) and is gone; the maxNumPendingDispatches runs below measured the defaults again.
# GPU machine, one call for issue 13 at the session's head, carry [".gpu"] (bench/gpu/train-prepare.sh): every
# training row beside PyTorch + PEFT in the same call (0.5B 1×512 and 8×512, 1.5B 1×512, 8B QLoRA 1×1024 against
# bf16 LoRA), the EP's fp16 MatMul rate, the 1.5B first step from an empty graph cache, the 0.5B NF4 step, the 8B
# step's GPU memory (Vulkan memory-budget probe, nvidia-smi beside it) under Graft's defaults and, with time left,
# with the EP flushing every 4 dispatches (p4/), then verify-reference --device gpu on every golden.
# Report: npx tsx bench/gpu/train-report.ts COMMIT F=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
source bench/gpu/train-rows.sh
if [ $(( $(date +%s) - t )) -lt 430 ]; then VERIFY_UNTIL=520 source bench/gpu/verify-gpu.sh; fi
if [ $(( $(date +%s) - t )) -lt 500 ]; then
  mkdir -p $OUT/p4; echo "== 8B, maxNumPendingDispatches 4" > $OUT/p4/graft-8b.log
  OUT=$OUT/p4 GRAFT_EP_CONFIG='{"ep.webgpuexecutionprovider.maxNumPendingDispatches":"4"}' BUDGET=80 timeout 85 bash bench/gpu/qlora-8b.sh >> $OUT/p4/graft-8b.log 2>&1
fi
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-600; grep -E '"at"|max used' $OUT/qlora-8b.log $OUT/p4/qlora-8b.log 2>/dev/null | cut -c1-160
for f in $OUT/graft-8b.log $OUT/p4/qlora-8b.log; do grep '^\{"bench"' $f 2>/dev/null | python3 -c 'import json,sys
for l in sys.stdin:
  r=json.loads(l); print(json.dumps({k:r.get(k) for k in ["train_tokens_per_s","later_step_ms","first_step_s","gpu_memory","estimate_gb"]})[:700])'; done
tail -1 $OUT/verify-gpu.jsonl 2>/dev/null; tail -c 1500 $P
