# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~300 s, nothing in the background: session 16's
# device sampler on the H200.
# - sampling-check: the Chat's sampling drawn on the device and on the host with the same seeds (0.5B, two rows,
#   3 seeds, 128 tokens): tokens in common before the first difference (float32 against float64 draws);
# - sampling-ab: the Chat's sampling chained on the device against drawn on the host each step, in one process,
#   3 rounds (greedy rows alongside, the same on both sides: a control), 135M, 0.5B, 1.5B;
# - GPU-timestamp profiles of the 0.5B decode as it is now (split-K on every projection): one row, 4 rows.
source bench/gpu/device-env.sh
L=$OUT/b.log; t=$(date +%s); mkdir -p /tmp/prof
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $L
timeout 120 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
echo "== sampling-check" >> $L; timeout 60 node $E sampling-check qwen2.5-0.5b >> $L 2>&1
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  left 230 && echo "== sampling-ab $m" >> $L && timeout $(( 260 - ($(date +%s) - t) )) node $E sampling-ab $m >> $L 2>&1
done
sum() { p=$(ls -S /tmp/prof/$1*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs $2 --shapes 40 > $OUT/profile-$1.json; }
left 265 && GRAFT_GRAPH_CAPTURE=0 timeout 40 node $E decode-profile /tmp/prof/dec1 qwen2.5-0.5b >> $L 2>&1; sum dec1 126
left 300 && GRAFT_GRAPH_CAPTURE=0 timeout 40 node $E decode-profile /tmp/prof/dec4 --rows4 qwen2.5-0.5b >> $L 2>&1; sum dec4 126
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | grep -v '"rounds"' | cut -c1-700; for f in $OUT/profile-*.json; do echo "== $f"; head -c 600 $f; echo; done
