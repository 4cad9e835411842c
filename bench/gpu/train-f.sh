# GPU machine, right after train-e.sh, carry [".gpu"]: the 1.5B first step from an empty graph cache and the warm
# 0.5B / 1.5B rows (the fp16 step's backward copy made at build, half-weights.ts), ORT's log of that creation
# (ort-init.log); then the 8B QLoRA step (bench/gpu/qlora-8b.sh) under the EP's 'simple' buffer cache (Graft's
# default) and under 'bucket' (bucket/), each with its GPU memory from the Vulkan memory-budget probe in the same
# process and nvidia-smi beside it.
# Report: npx tsx bench/gpu/train-report.ts COMMIT D=DIR (its 8B row), raw lines printed below.
source bench/gpu/device-env.sh
t=$(date +%s); L=$OUT/train-a.log
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
timeout 90 node $E step qwen2.5-0.5b 1x512 fp16 >> $L 2>&1
echo "== cold 1.5B again, ORT's log of session creation" > $OUT/ort-init.log
GRAFT_ORT_LOG_LEVEL=1 GRAFT_GRAPH_CACHE=/tmp/gc-log timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v 'Starting program' | grep -E 'inference_session|Saving|saving|GraphTransformer|^\{' | cut -c1-300 >> $OUT/ort-init.log
grep -v '^\[' $L | cut -c1-700; grep -E 'ConstantFolding|Saving|Done saving|successfully|Initializing session|^\{' $OUT/ort-init.log | cut -c1-200 | tail -8
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
BUDGET=150 timeout 160 bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
mkdir -p $OUT/bucket; echo "== Graft QLoRA at Llama-3.1-8B shapes, storageBufferCacheMode bucket" > $OUT/bucket/graft-8b.log
OUT=$OUT/bucket GRAFT_WEBGPU_OPTS='{"storageBufferCacheMode":"bucket"}' BUDGET=150 timeout 160 bash bench/gpu/qlora-8b.sh >> $OUT/bucket/graft-8b.log 2>&1
echo "graft 8b bucket rc $? after $(( $(date +%s) - t )) s" >> $OUT/bucket/graft-8b.log
for f in $OUT/qlora-8b.log $OUT/bucket/qlora-8b.log; do echo "== $f"; grep -E '"at"|max used|^rc' $f | cut -c1-200; grep '^\{"bench"' $f | python3 -c 'import json,sys
for l in sys.stdin:
  r=json.loads(l); print(json.dumps({k:r.get(k) for k in ["train_tokens_per_s","later_step_ms","first_step_s","gpu_memory","estimate_gb","losses","commit"]}))'; done
