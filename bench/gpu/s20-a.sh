# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~8 min, nothing in the background: where a
# captured decode step's time goes, by kind of op. (1) bench/op-floors.ts: each kind's cost inside a replay;
# (2) TIMING-ONLY ablations of the fused decode graph (bench/gpu/s20-ablate.patch, not landed; GRAFT_ABLATE):
# norm = each SkipSimplifiedLayerNormalization an Add, xt = the split-K inputs' transposes Reshapes (exact at one
# row only), bias = the qkv bias left out; alternating with the graph as it is, one process a model.
source bench/gpu/device-env.sh
L=$OUT/a.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
timeout 150 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
echo "== op-floors" >> $L
timeout 120 node $E op-floors 2>&1 | grep -v '^\[' | grep -v Warning >> $L
echo "op-floors done at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  left 420 || break
  echo "== ablate norm / xt $m" >> $L
  timeout 120 node $E ablate-ab norm xt $m 2>&1 | grep -v '^\[' | grep -v Warning | grep round >> $L
done
left 480 && { echo "== ablate bias / norm,xt,bias qwen2.5-0.5b" >> $L; timeout 100 node $E ablate-ab bias norm,xt,bias qwen2.5-0.5b 2>&1 | grep -v '^\[' | grep -v Warning | grep round >> $L; }
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L | cut -c1-400
