# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~4 min, nothing in the background (session 23's
# call C). Call B: a 0.5B-wide step of 1 layer and a vocabulary of 8,192 takes 1.18-1.32 ms replayed, ~45 kernels.
# 1) that step replayed against run op by op (GRAFT_GRAPH_CAPTURE=0), and 24 layers alike;
# 2) ORT's op-by-op profile of that step (GPU timestamps, not captured): which kernel, if any, takes the time;
# 3) the SM clock and power, sampled every 100 ms beside all of it.
source bench/gpu/device-env.sh
L=$OUT/c.log; t=$(date +%s); mkdir -p /tmp/prof
nvidia-smi --query-gpu=name,driver_version,persistence_mode,clocks.max.sm --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,utilization.gpu --format=csv,noheader -lms 100 > $OUT/clocks.csv 2>&1 &
S=$!
M="qwen2.5-0.5b~l1~v8192 qwen2.5-0.5b"
timeout 120 node $E models $M > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for r in 1 2; do
  for m in $M; do
    for cap in 1 0; do
      left 200 || break
      echo "== round $r: $m capture $cap at $(( $(date +%s) - t ))" >> $L
      GRAFT_GRAPH_CAPTURE=$cap DECODE_QUICK=2 timeout 40 node $E decode $m 2>&1 | grep -v Warning | python3 bench/gpu/no-sessions.py >> $L
    done
  done
done
echo "== profile at $(( $(date +%s) - t ))" >> $L
GRAFT_GRAPH_CAPTURE=0 timeout 60 node $E decode-profile /tmp/prof/l1 'qwen2.5-0.5b~l1~v8192' 2>&1 | grep profiled >> $L
p=$(ls -S /tmp/prof/l1*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs 126 --shapes 30 > $OUT/profile-l1.json
[ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs 126 --host > $OUT/profile-l1-host.json
kill $S
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
python3 -c "
import json; d=json.load(open('$OUT/profile-l1.json')); print(d['total_ms'], d['dispatches'])
for r in d['by_shape'][:30]: print(r['op'], r['us_each'], r['count'], r['shapes'][:90])"
awk -F', ' 'NR%20==1' $OUT/clocks.csv | head -40
