# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~4 min, nothing in the background (session 23's
# call F): the decode rows at the growing chains' default (8, 16, then 32 steps between reads; generate.ts
# chainLength), one process per model, against GRAFT_GREEDY_CHAIN=8 (chains of 8, as before) in the next process,
# alternating, two rounds at 0.5B, one at 135M and 1.5B (DECODE_QUICK=1: greedy, 4 rows, 4 adapters, one adapter).
source bench/gpu/device-env.sh
L=$OUT/f.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 150 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b qwen2.5-0.5b; do
  for c in default 8; do
    left 330 || break
    echo "== chains $c: $m at $(( $(date +%s) - t ))" >> $L
    if [ $c = default ]; then DECODE_QUICK=1 timeout 60 node $E decode $m; else GRAFT_GREEDY_CHAIN=8 DECODE_QUICK=1 timeout 60 node $E decode $m; fi 2>&1 | grep -v Warning | python3 bench/gpu/no-sessions.py >> $L
  done
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
