# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~220 s, nothing in the background: the profiles
# the session's result files carry (GPU timestamps, op by op: ORT's profiler does not see captured replays): the 0.5B
# decode, one row and 4 rows (base + 3 adapters), and the 1.5B 1x512 training step.
# Summaries: $OUT/profile-{dec1,dec4,step15}.json (bench/ort-profile-summary.py), attached to the result files.
source bench/gpu/device-env.sh
L=$OUT/p.log; t=$(date +%s); mkdir -p /tmp/prof
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
timeout 60 node $E models qwen2.5-0.5b > /dev/null 2>&1
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
sum() { p=$(ls -S /tmp/prof/$1*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs $2 --shapes $3 > $OUT/profile-$1.json; }
GRAFT_GRAPH_CAPTURE=0 timeout 50 node $E decode-profile /tmp/prof/dec1 qwen2.5-0.5b >> $L 2>&1; sum dec1 126 40
GRAFT_GRAPH_CAPTURE=0 timeout 50 node $E decode-profile /tmp/prof/dec4 --rows4 qwen2.5-0.5b >> $L 2>&1; sum dec4 126 40
BENCH_DTYPE=BF16 GRAFT_GRAPH_CAPTURE=0 GRAFT_ORT_PROFILE=/tmp/prof/step15 timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1; sum step15 4 60
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | grep -v '"rounds"' | cut -c1-400; for f in $OUT/profile-*.json; do echo "== $f"; head -c 400 $f; echo; done
