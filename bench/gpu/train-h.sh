# NOTE (2026-12-03): GRAFT_EP_CONFIG never reached the EP (onnxruntime-node appends the EP before it applies
# session config entries) and is gone; the maxNumPendingDispatches runs below measured the defaults again.
# GPU machine, carry [".gpu"]: the 8B QLoRA step under the 'simple' cache with the EP flushing (and so making
# released buffers reusable) every 4 and every 64 dispatches instead of 16 (maxNumPendingDispatches): whether the
# step's GPU peak is the cache's pool between flushes.
source bench/gpu/device-env.sh
for n in ${PENDING:-4 64}; do
  mkdir -p $OUT/p$n; echo "== 8B, maxNumPendingDispatches $n" > $OUT/p$n/graft-8b.log
  OUT=$OUT/p$n GRAFT_EP_CONFIG="{\"ep.webgpuexecutionprovider.maxNumPendingDispatches\":\"$n\"}" BUDGET=120 timeout 130 bash bench/gpu/qlora-8b.sh >> $OUT/p$n/graft-8b.log 2>&1
  echo "== p$n"; grep -E '"at"|max used|^rc' $OUT/p$n/qlora-8b.log | cut -c1-200
  grep '^\{"bench"' $OUT/p$n/qlora-8b.log | python3 -c 'import json,sys
for l in sys.stdin:
  r=json.loads(l); print(json.dumps({k:r.get(k) for k in ["train_tokens_per_s","later_step_ms","gpu_memory"]})[:600])'
done
