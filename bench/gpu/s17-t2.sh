# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~330 s, nothing in the background: session 17's
# training changes (AdamW's gradient norm in two reductions; the LoRA factors of q/k/v and of gate/up as one product
# each) with the device time left after a refused start: the 1x512 rows (0.5B, 1.5B) and 0.5B 8x512 beside
# PyTorch + PEFT in the same call, a GPU-timestamp profile of the 1.5B step, then `verify-reference --device gpu`
# while time is left. The first step from an empty cache and the 8B row: train-one-call.sh (call T).
# Report: REPORT_SUFFIX=-s17-t2 npx tsx bench/gpu/train-report.ts COMMIT T2=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; t=$(date +%s); mkdir -p /tmp/prof
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
timeout 60 node $E models qwen2.5-0.5b > /dev/null 2>&1
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $P
echo "== warm: training rows" >> $L
BENCH_DTYPE=BF16 timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
timeout 90 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
GEMM_FORMS=float16:matmul timeout 40 node $E gemm 4096,896,4864 >> $L 2>&1
echo "graft rows elapsed $(( $(date +%s) - t ))" >> $L
timeout 120 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 >> $P 2> $OUT/peer.err; echo "peers rc $? after $(( $(date +%s) - t )) s" >> $P
left 300 && BENCH_DTYPE=BF16 GRAFT_GRAPH_CAPTURE=0 GRAFT_ORT_PROFILE=/tmp/prof/step15 timeout 50 node $E step qwen2.5-1.5b 1x512 fp16 > $OUT/p.log 2>&1
p=$(ls -S /tmp/prof/step15*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs 4 --shapes 60 > $OUT/profile-step15.json
left=$(( 400 - ($(date +%s) - t) )); echo "== verify-reference, $left s left" >> $P
[ $left -gt 40 ] && VERIFY_UNTIL=390 V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $L | cut -c1-300; cat $P; tail -1 $OUT/verify-gpu.jsonl 2> /dev/null
