# GPU machine, one call for issue 13, carry [".gpu"] (bench/gpu/train-prepare.sh): the training rows beside
# PyTorch + PEFT and the EP's fp16 MatMul rate in the same call; the same rows with the logits made whole
# (GRAFT_LOSS_SLICE_MB large, their own graph cache) to set the sliced loss beside the whole one; the 1.5B first
# step from an empty graph cache, then once more with ORT's own log of session creation (GRAFT_ORT_LOG_LEVEL=1,
# its timestamped phases in ort-init.log); verify-reference --device gpu on every golden.
# Report: npx tsx bench/gpu/train-report.ts COMMIT D=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
echo "== warm: training rows" >> $L
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
timeout 75 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $L 2>&1
GEMM_FORMS=float16:matmul timeout 40 node $E gemm 4096,896,4864 >> $L 2>&1
echo "graft rows elapsed $(( $(date +%s) - t ))" >> $L
W=$OUT/whole-logits.log; echo "== the same rows with the logits whole (GRAFT_LOSS_SLICE_MB=100000), own graph cache" > $W
GRAFT_LOSS_SLICE_MB=100000 GRAFT_GRAPH_CACHE=/tmp/gc-whole timeout 80 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $W 2>&1
GRAFT_LOSS_SLICE_MB=100000 GRAFT_GRAPH_CACHE=/tmp/gc-whole timeout 80 node $E step qwen2.5-1.5b 1x512 fp16 >> $W 2>&1
timeout 100 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 >> $P 2> $OUT/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
# ORT's INFO log prints a line per dispatch too: only the session-creation lines are kept
echo "== cold 1.5B again, ORT's log of session creation" > $OUT/ort-init.log
GRAFT_ORT_LOG_LEVEL=1 GRAFT_GRAPH_CACHE=/tmp/gc-log timeout 90 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v 'Starting program' | grep -E 'inference_session|session_state|Saving|saving|Initializ|transformer|partition|^\{' | cut -c1-400 >> $OUT/ort-init.log
if [ $(( $(date +%s) - t )) -lt ${VERIFY_BEFORE:-430} ]; then VERIFY_UNTIL=560 source bench/gpu/verify-gpu.sh; fi
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-700; grep -v '^\[' $W | cut -c1-500; grep -E '^\{|Saving|Done saving|successfully|Initializing session' $OUT/ort-init.log | cut -c1-300 | tail -12; tail -1 $OUT/verify-gpu.jsonl 2>/dev/null; tail -c 1200 $P
