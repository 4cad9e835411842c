# GPU machine, alone (carry [".gpu"] from train-prepare.sh): the 1.5B first training step from an empty graph cache
# (bf16 files, ORT at the basic level), each form in its own process, alternating twice:
#   plain     GRAFT_DEFERRED_SAVE=0 GRAFT_RESIDENT_WEIGHTS=0  (session 10's path: writes reach the disk before ORT)
#   deferred  GRAFT_DEFERRED_SAVE=1                            (the stage: files made durable beside ORT)
#   resident  GRAFT_DEFERRED_SAVE=1 GRAFT_RESIDENT_WEIGHTS=1    (the projections made once on the GPU, fed as inputs)
# Each line also gives the warm step (step_ms_median): the resident form must not be slower per step. Then
# PyTorch + PEFT at the same shape, for issue 13 item 1. Report: copy first-step-ab.log to train-a.log and run
# npx tsx bench/gpu/train-report.ts COMMIT AB=DIR
source bench/gpu/device-env.sh
F=$OUT/first-step-ab.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $F
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b >> $F 2>&1; echo "model written at $(( $(date +%s) - t ))" >> $F
for round in 1 2; do
  for form in plain deferred resident; do
    case $form in plain) d=0; r=0;; deferred) d=1; r=0;; resident) d=1; r=1;; esac
    echo "== round $round: $form" >> $F
    STEP_PRINT_FIRST=1 GRAFT_DEFERRED_SAVE=$d GRAFT_RESIDENT_WEIGHTS=$r BENCH_DTYPE=BF16 GRAFT_ORT_OPT_LEVEL=basic GRAFT_GRAPH_CACHE=/tmp/gg-ab timeout 75 node $E step qwen2.5-1.5b 1x512 fp16 >> $F 2>&1
    rm -rf /tmp/gg-ab; echo "elapsed $(( $(date +%s) - t ))" >> $F
  done
done
grep -v '^\[' $F | cut -c1-700
# The peer for the 1.5B 1x512 row (the runs above print its warm step), in the same call
P=$OUT/peers.log; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
timeout 90 python3 bench/gpu/peer-train.py qwen2.5-1.5b:1x512 >> $P 2> $OUT/peer.err
echo "total $(( $(date +%s) - t )) s" >> $F; tail -3 $P
