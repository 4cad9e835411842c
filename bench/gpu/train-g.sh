# GPU machine, carry [".gpu"]: the 1.5B first step from an empty graph cache (both fp16 forms of each projection
# from one read of the file, weight-threads.ts 'f16+T') and the warm 0.5B row; then the 8B QLoRA step under the
# EP's 'disabled' and 'lazyRelease' buffer caches, whose peaks say how much of the 'simple' cache's peak is the
# step's own live buffers.
source bench/gpu/device-env.sh
t=$(date +%s); L=$OUT/train-a.log
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
GRAFT_TIMING=1 timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
timeout 90 node $E step qwen2.5-0.5b 1x512 fp16 >> $L 2>&1
grep -v '^\[' $L | cut -c1-700
for mode in disabled lazyRelease; do
  mkdir -p $OUT/$mode; echo "== 8B, storageBufferCacheMode $mode" > $OUT/$mode/graft-8b.log
  OUT=$OUT/$mode GRAFT_WEBGPU_OPTS="{\"storageBufferCacheMode\":\"$mode\"}" BUDGET=120 timeout 130 bash bench/gpu/qlora-8b.sh >> $OUT/$mode/graft-8b.log 2>&1
  echo "== $mode"; grep -E '"at"|max used|^rc' $OUT/$mode/qlora-8b.log | cut -c1-200
  grep '^\{"bench"' $OUT/$mode/qlora-8b.log | python3 -c 'import json,sys
for l in sys.stdin:
  r=json.loads(l); print(json.dumps({k:r.get(k) for k in ["train_tokens_per_s","later_step_ms","gpu_memory"]})[:600])'
done
