# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~3 min, nothing in the background: the padded
# stream against the hidden size at 135M (576 → 768, where call B's A/B under llama.cpp's build was within noise),
# then the greedy rows one row and 4 rows (DECODE_QUICK) at 0.5B and 1.5B: item 2's ratios with nothing beside.
source bench/gpu/device-env.sh
L=$OUT/h.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 120 node $E models smollm2-135m qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
echo "== pad-ab smollm2-135m" >> $L
timeout 100 node $E pad-ab smollm2-135m 2>&1 | grep -v '^\[' | grep -v Warning | grep round >> $L
for m in qwen2.5-0.5b qwen2.5-1.5b; do
  left 230 || break
  echo "== decode $m" >> $L
  DECODE_QUICK=1 timeout 40 node $E decode $m 2>&1 | grep -v '^\[' | grep -v Warning | sed 's/"sessions":\[[^]]*\],//' >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-420
