# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~200 s, nothing in the background: the 135M and
# 1.5B decode rows (one row, 4 rows) again with nothing beside (call A ran them beside llama.cpp's build), then the
# adapter rows' x·Aᵀ split along K against one batched MatMul at 135M (gpu-explore lorasplit-ab).
source bench/gpu/device-env.sh
L=$OUT/c.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
timeout 100 node $E models smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in smollm2-135m qwen2.5-1.5b; do
  echo "== nothing beside: $m" >> $L
  left 300 && DECODE_QUICK=1 timeout 60 node $E decode $m 2>&1 | grep -v '^\[' >> $L
done
echo "== lorasplit-ab smollm2-135m" >> $L
left 330 && timeout $(( 420 - ($(date +%s) - t) )) node $E lorasplit-ab smollm2-135m 2>&1 | grep -v '^\[' >> $L
echo "total $(( $(date +%s) - t )) s" >> $L
cut -c1-400 $L
