# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~150 s, nothing in the background: the fp16 step
# with q, k and v as one product (models/half-weights.ts, qkvPiece) against one product each (GRAFT_QKV_GROUP=0),
# the 1.5B 1x512 step, alternating in separate processes (each arm its own graph cache key), while device time lasts.
source bench/gpu/device-env.sh
L=$OUT/q.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $L
BENCH_DTYPE=BF16 timeout 100 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for round in 1 2 3; do
  for arm in 1 0; do
    echo "== qkv grouped $arm, round $round" >> $L
    BENCH_DTYPE=BF16 GRAFT_QKV_GROUP=$arm timeout 45 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
  done
done
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | python3 -c "
import sys,json
for l in sys.stdin:
  if l.startswith('{'):
    d=json.loads(l); print(d.get('step_ms_median'), d.get('train_tokens_per_s'), d.get('first_step_ms'))
  else: print(l.rstrip())"
