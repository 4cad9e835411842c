# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~6 min, nothing in the background (session 22's
# call T): the adapter rows' delta in the tiled form (nodes.ts tiledLoraDelta: no transpose of x, the partial x·Aᵀ
# summed by the product with Bᵀ stacked; 5-6 dispatches fewer a layer) against split-K's form (GRAFT_LORA_TILED=0),
# by kind of row (one adapter, base + 3 adapters, 4 adapters, the base alone as a control), 3 rounds alternating in
# one process (`gpu-explore lora-tiled-ab`), 0.5B then 1.5B. Ran at 1580aa2: the tiled form was twice as slow (0.5B
# one adapter 88-94 against 188-190 tok/s); it and lora-tiled-ab were removed after (1.5B did not run: out of time).
source bench/gpu/device-env.sh
L=$OUT/t.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 90 node $E models qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b qwen2.5-1.5b; do
  left 300 || break
  echo "== lora-tiled-ab $m at $(( $(date +%s) - t ))" >> $L
  timeout $(( 420 - ($(date +%s) - t) )) node $E lora-tiled-ab $m 2>&1 | grep -v Warning >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
cut -c1-300 $L
