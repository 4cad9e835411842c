# GPU machine, one short call for issue 13 (after decode-train-a/b.sh), carry [".gpu"] (bench/gpu/train-prepare.sh):
# the training rows beside PyTorch + PEFT and the EP's fp16 MatMul rate in the same call, the 1.5B first step from an
# empty graph cache under ORT's 'all' optimization level (the default) and under 'extended' (GRAFT_ORT_OPT_LEVEL, its
# own empty cache, ort-level.log), then, with time left, the 8B QLoRA step under the 'simple' and the 'bucket' buffer
# cache (bucket/), for their GPU memory.
# Report: npx tsx bench/gpu/train-report.ts COMMIT D=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
echo "== cold again, ORT level 'extended', its own empty graph cache" > $OUT/ort-level.log
GRAFT_ORT_OPT_LEVEL=extended GRAFT_GRAPH_CACHE=/tmp/gc-extended timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $OUT/ort-level.log 2>&1
echo "== warm: training rows" >> $L
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
timeout 75 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $L 2>&1
GEMM_FORMS=float16:matmul timeout 40 node $E gemm 4096,896,4864 >> $L 2>&1
echo "graft rows elapsed $(( $(date +%s) - t ))" >> $L
timeout 100 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 >> $P 2> $OUT/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
if [ $(( $(date +%s) - t )) -lt ${QLORA8B_UNTIL:-300} ]; then
  echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
  BUDGET=90 timeout 100 bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
fi
# The same 8B step under the EP's 'bucket' buffer cache (the default before 'simple'): its GPU memory between steps
if [ $(( $(date +%s) - t )) -lt ${BUCKET8B_UNTIL:-380} ]; then
  mkdir -p $OUT/bucket; echo "== Graft QLoRA at Llama-3.1-8B shapes, storageBufferCacheMode bucket" > $OUT/bucket/graft-8b.log
  OUT=$OUT/bucket GRAFT_WEBGPU_OPTS='{"storageBufferCacheMode":"bucket"}' BUDGET=90 timeout 100 bash bench/gpu/qlora-8b.sh >> $OUT/bucket/graft-8b.log 2>&1
  echo "graft 8b bucket rc $? after $(( $(date +%s) - t )) s" >> $OUT/bucket/graft-8b.log
fi
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-700; grep -v '^\[' $OUT/ort-level.log | cut -c1-700; grep '^{' $OUT/graft-8b.log $OUT/bucket/graft-8b.log 2>/dev/null | cut -c1-300; tail -4 $OUT/bucket/qlora-8b.log 2>/dev/null | cut -c1-200; tail -c 1200 $P
