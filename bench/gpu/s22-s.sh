# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~5 min, nothing in the background (session 22's
# call S). 1) split-K in the fp16 graph (now the default for every row): every projection slices fit (the default),
# only the long-K few-workgroup ones, none (`gpu-explore split-ab`, 3 rounds alternating in one process; measured in
# fp32 only before, sessions 13-15). 2) item 2's rows with nothing beside at 1.5B and 135M (call B ran them beside
# llama.cpp's build): one stream, base + 3 adapters, 4 different adapters, one adapter stream (DECODE_QUICK=1).
source bench/gpu/device-env.sh
L=$OUT/s.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 100 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-1.5b smollm2-135m; do
  left 200 || break
  echo "== nothing beside: $m at $(( $(date +%s) - t ))" >> $L
  DECODE_QUICK=1 timeout 80 node $E decode $m 2>&1 | grep -v Warning >> $L
done
for m in qwen2.5-0.5b smollm2-135m; do
  left 420 || break
  echo "== split-ab $m at $(( $(date +%s) - t ))" >> $L
  timeout $(( 520 - ($(date +%s) - t) )) node $E split-ab $m 2>&1 | grep -v Warning >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '"rounds"' $L | cut -c1-400
