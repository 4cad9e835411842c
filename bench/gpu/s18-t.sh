# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~480 s, nothing in the background: issue 13's
# rows in one call (train-one-call.sh's, FORMS=0) after an A/B of session 18's change: the 1.5B first step from an
# empty graph cache (bf16 files, ORT's default level, resident projections) with the resident weights read ahead on
# the weight threads while ORT creates the captured step (now) and read after it (GRAFT_READ_AHEAD=0), alternating,
# one process each. Then the 1.5B first step at ORT's basic level (train-one-call's row), the warm rows, the 8B
# QLoRA step, PyTorch + PEFT, and `verify-reference --device gpu` while time is left.
# Report: REPORT_SUFFIX=-training-s18 npx tsx bench/gpu/train-report.ts COMMIT ONE=DIR; first-ab.log by hand.
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; A=$OUT/first-ab.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
timeout 60 node $E models qwen2.5-0.5b > /dev/null 2>&1
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $P
for round in 1 2; do
  for ahead in 1 0; do
    echo "== round $round, read ahead $ahead" >> $A
    STEP_PRINT_FIRST=1 BENCH_DTYPE=BF16 GRAFT_READ_AHEAD=$ahead GRAFT_GRAPH_CACHE=/tmp/gg-ab timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v first_step_only >> $A
    rm -rf /tmp/gg-ab
  done
done
echo "first-step A/B done at $(( $(date +%s) - t ))" >> $P
# first in the log: train-report takes a call's first row as its "empty graph cache" start-up figure
STEP_PRINT_FIRST=1 BENCH_DTYPE=BF16 GRAFT_ORT_OPT_LEVEL=basic GRAFT_GRAPH_CACHE=/tmp/gg-first timeout 75 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v first_step_only >> $L
rm -rf /tmp/gg-first
source bench/gpu/train-rows.sh
left=$(( 585 - ($(date +%s) - t) )); echo "== verify-reference, $left s left" >> $P
[ $left -gt 60 ] && VERIFY_UNTIL=580 V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $A | cut -c1-400; grep -v '^\[' $L | cut -c1-300; tail -c 1500 $P; grep '^{"bench"' $OUT/graft-8b.log | cut -c1-300; tail -1 $OUT/verify-gpu.jsonl
