# GPU machine, one call for issue 13 (fourth pass), carry [".gpu"] (bench/gpu/train-prepare.sh), on a fresh machine:
# Graft's training rows after the buffer-cache and MatMul changes (1.5B first: its first step from an empty graph
# cache, and its later steps the 1.5B row), the 4-bit step with its forward as MatMul over a transposed weight and, for comparison, as Gemm with
# transB (GRAFT_QLORA_FORWARD=gemm), the EP's fp16 GEMM rate at the 8x512 step's shape, the 8B QLoRA step with its
# GPU memory (bench/gpu/qlora-8b.sh), PyTorch + PEFT on the same shapes (bench/gpu/peer-train.py), a GPU-timestamp
# profile of the 0.5B 8x512 step (bench/ort-profile-summary.py), then `verify-reference --device gpu` while time is left.
# Report: npx tsx bench/gpu/train-report.ts COMMIT C=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
# NO_15B=1 leaves out the 1.5B rows (a short call)
if [ -z "${NO_15B:-}" ]; then
  timeout 120 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
  echo "== cold: 1.5B fp16 1x512, first step from an empty graph cache" >> $L
  timeout 120 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
else
  timeout 60 node $E models qwen2.5-0.5b >> $L 2>&1
fi
echo "== warm: training rows" >> $L
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
timeout 60 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $L 2>&1
echo "graft rows elapsed $(( $(date +%s) - t ))" >> $L
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
BUDGET=110 timeout 120 bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1; echo "graft 8b rc $? after $(( $(date +%s) - t )) s" >> $OUT/graft-8b.log
timeout 165 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 $([ -n "${NO_15B:-}" ] || echo qwen2.5-1.5b:1x512) llama3.1-8b:1x1024 >> $P 2> $OUT/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
# With time left (EXTRA_UNTIL, seconds since the start): the 4-bit forward as Gemm with transB, the EP's fp16 MatMul rate
if [ $(( $(date +%s) - t )) -lt ${EXTRA_UNTIL:-400} ]; then
  GRAFT_QLORA_FORWARD=gemm timeout 60 node $E step qwen2.5-0.5b 1x512 nf4-fp16 2>&1 | sed 's/"precision":"nf4-fp16"/"precision":"nf4-fp16-gemm-forward"/' >> $L
  GEMM_FORMS=float16:matmul timeout 40 node $E gemm 4096,896,4864 >> $L 2>&1
fi
if [ $(( $(date +%s) - t )) -lt ${PROFILE_UNTIL:-440} ]; then
  mkdir -p /tmp/prof; GRAFT_ORT_PROFILE=/tmp/prof/s8 timeout 60 node $E step qwen2.5-0.5b 8x512 fp16 > /dev/null 2>&1
  p=$(ls -S /tmp/prof/s8_*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs 4 --shapes 40 > $OUT/profile-0.5b-8x512-gpu.json
fi
VERIFY_UNTIL=${VERIFY_UNTIL:-585} source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-600; grep '^{' $OUT/graft-8b.log | cut -c1-1200; tail -3 $OUT/graft-8b.log | cut -c1-300; tail -c 1200 $P; tail -1 $V; head -c 1500 $OUT/profile-0.5b-8x512-gpu.json 2> /dev/null
