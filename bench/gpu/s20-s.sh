# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~4 min, nothing in the background: session 20's
# slicing of the fused decode graph (nodes.ts: a wide projection only in slices of >= 256 inputs, the LM head in 4)
# against session 15's, alternating in one process a model (gpu-explore slices-ab): one row and 4 rows.
source bench/gpu/device-env.sh
L=$OUT/s.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 150 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  left 420 || break
  echo "== slices-ab $m" >> $L
  timeout 130 node $E slices-ab $m 2>&1 | grep -v '^\[' | grep -v Warning | grep round >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-400
