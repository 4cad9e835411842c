# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~5 min, nothing in the background: why 4 rows
# (base + 3 adapters) decode slower in fp16 than in fp32 at 0.5B (call F), by ORT's profile of each, op by op
# (GPU timestamps, not captured); then the fp16 A/B at 1.5B, which call F ran out of time for.
source bench/gpu/device-env.sh
L=$OUT/g.log; t=$(date +%s); mkdir -p /tmp/prof
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 150 node $E models qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
sum() { p=$(ls -S /tmp/prof/$1*.json 2> /dev/null | head -1); [ -n "$p" ] && python3 bench/ort-profile-summary.py $p --runs $2 --shapes $3 > $OUT/profile-$1.json; }
GRAFT_DECODE_FP16=0 GRAFT_GRAPH_CAPTURE=0 timeout 60 node $E decode-profile /tmp/prof/d4f32 --rows4 qwen2.5-0.5b 2>&1 | grep profiled >> $L; sum d4f32 126 40
GRAFT_DECODE_FP16=1 GRAFT_GRAPH_CAPTURE=0 timeout 60 node $E decode-profile /tmp/prof/d4f16 --rows4 qwen2.5-0.5b 2>&1 | grep profiled >> $L; sum d4f16 126 40
echo "profiles at $(( $(date +%s) - t ))" >> $L
echo "== f16-ab qwen2.5-1.5b" >> $L
timeout 200 node $E f16-ab qwen2.5-1.5b --no-agree 2>&1 | grep -v '^\[' | grep -v Warning | grep -E 'round|Error|error' >> $L
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-420
for f in $OUT/profile-*.json; do echo "== $f"; python3 -c "
import json,sys; d=json.load(open('$f')); print(d['total_ms'], d['dispatches']); [print(r) for r in d['by_op'][:12]]"; done
