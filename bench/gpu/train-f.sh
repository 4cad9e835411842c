# GPU machine, right after train-e.sh, carry [".gpu"]: the 8B QLoRA step (bench/gpu/qlora-8b.sh) under the EP's
# 'simple' buffer cache (Graft's default) and under 'bucket' (bucket/), each with its GPU memory from the Vulkan
# memory-budget probe in the same process and nvidia-smi beside it.
# Report: npx tsx bench/gpu/train-report.ts COMMIT D=DIR (its 8B row), raw lines printed below.
source bench/gpu/device-env.sh
t=$(date +%s)
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
BUDGET=150 timeout 160 bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
mkdir -p $OUT/bucket; echo "== Graft QLoRA at Llama-3.1-8B shapes, storageBufferCacheMode bucket" > $OUT/bucket/graft-8b.log
OUT=$OUT/bucket GRAFT_WEBGPU_OPTS='{"storageBufferCacheMode":"bucket"}' BUDGET=150 timeout 160 bash bench/gpu/qlora-8b.sh >> $OUT/bucket/graft-8b.log 2>&1
echo "graft 8b bucket rc $? after $(( $(date +%s) - t )) s" >> $OUT/bucket/graft-8b.log
for f in $OUT/qlora-8b.log $OUT/bucket/qlora-8b.log; do echo "== $f"; grep -E '"at"|max used|^rc' $f | cut -c1-200; grep '^\{"bench"' $f | python3 -c 'import json,sys
for l in sys.stdin:
  r=json.loads(l); print(json.dumps({k:r.get(k) for k in ["train_tokens_per_s","later_step_ms","first_step_s","gpu_memory","estimate_gb","losses","commit"]}))'; done
