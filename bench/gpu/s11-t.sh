# GPU machine, one call with nothing else beside (carry [".gpu"] from train-prepare.sh): the 1.5B first step from an
# empty graph cache (bf16 files, ORT at the basic level) with the stage's deferred save (now) and without
# (GRAFT_DEFERRED_SAVE=0, before), alternating; then every training row beside PyTorch + PEFT (8B included), the
# EP's fp16 MatMul rate (the 1.5B 1x512 row: the later steps of the first-step runs) and the 8B step's GPU memory; `verify-reference --device gpu` while time is left.
# Report: npx tsx bench/gpu/train-report.ts COMMIT C=DIR
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; F=$OUT/first-step.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $F > $P
timeout 60 node $E models qwen2.5-0.5b >> $L 2>&1
# writing the 1.5B bf16 model passed 60 s in call T2: more room, and each first step printed as soon as it ends
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b >> $F 2>&1
for side in now before now before; do
  [ $side = now ] && d=1 || d=0
  echo "== $side: GRAFT_DEFERRED_SAVE=$d" >> $F
  STEP_PRINT_FIRST=1 GRAFT_DEFERRED_SAVE=$d BENCH_DTYPE=BF16 GRAFT_ORT_OPT_LEVEL=basic GRAFT_GRAPH_CACHE=/tmp/gg-first timeout 75 node $E step qwen2.5-1.5b 1x512 fp16 >> $F 2>&1
  rm -rf /tmp/gg-first; echo "elapsed $(( $(date +%s) - t ))" >> $F
done
source bench/gpu/train-rows.sh
left=$(( 560 - ($(date +%s) - t) )); echo "== verify-reference, $left s left" >> $P
[ $left -gt 60 ] && VERIFY_UNTIL=545 V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $F | cut -c1-500; grep -v '^\[' $L | cut -c1-300; tail -c 1500 $P; grep '^{"bench"' $OUT/graft-8b.log | cut -c1-300; tail -1 $OUT/verify-gpu.jsonl
