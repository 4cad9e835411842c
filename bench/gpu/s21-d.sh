# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~4 min, nothing in the background: the default
# ('auto' precision: fp16 for the base alone, fp32 with adapter rows) as the app runs it, 0.5B from an empty graph
# cache (first start), again in a new process (second start), then 1.5B: greedy one row and 4 rows (DECODE_QUICK).
source bench/gpu/device-env.sh
L=$OUT/d.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 100 node $E models qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b qwen2.5-0.5b qwen2.5-1.5b; do
  left 220 || break
  echo "== decode $m at $(( $(date +%s) - t ))" >> $L
  DECODE_QUICK=1 timeout 60 node $E decode $m 2>&1 | grep -v '^\[' | grep -v Warning | sed 's/"sessions":\[[^]]*\],//' >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-500
