# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~6 min, nothing in the background (session 23's
# call B; its first run cut the JSON lines before the figures, the second on the machine it left warm). Call A found a 0.5B step at 1 layer still takes 1.57 ms (24 layers: 4.2). What that floor is made of:
# 1) the step against its vocabulary (8,192 against 151,936) at 1 and 24 layers, alternating, two rounds;
# 2) greedy chains of 1, 8 (the default) and 32 steps between read-backs, at 1 and 24 layers;
# 3) verify-reference --device gpu on every golden under onnxruntime-node 1.31.1.
source bench/gpu/device-env.sh
L=$OUT/b.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
M="qwen2.5-0.5b~l1 qwen2.5-0.5b~l1~v8192 qwen2.5-0.5b qwen2.5-0.5b~v8192"
timeout 120 node $E models $M > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for r in 1 2; do
  for m in $M; do
    left 240 || break
    echo "== round $r: $m at $(( $(date +%s) - t ))" >> $L
    DECODE_QUICK=2 timeout 40 node $E decode $m 2>&1 | grep -v Warning | python3 bench/gpu/no-sessions.py >> $L
  done
done
for m in qwen2.5-0.5b~l1 qwen2.5-0.5b; do
  for c in 1 32 8; do
    left 380 || break
    echo "== chain $c: $m at $(( $(date +%s) - t ))" >> $L
    GRAFT_GREEDY_CHAIN=$c DECODE_QUICK=2 timeout 40 node $E decode $m 2>&1 | grep -v Warning | python3 bench/gpu/no-sessions.py >> $L
  done
done
VERIFY_UNTIL=560 source bench/gpu/verify-gpu.sh
tail -1 $V >> $L; cp $V $OUT/ 2>/dev/null
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
