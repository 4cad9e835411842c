# GPU machine, carry [".gpu"] (bench/gpu/prepare.sh or train-prepare.sh first): the first start from an empty
# graph cache of issue 12 item 3 (0.5B chat: first token) and issue 13 item 4 (1.5B fp16 training: first
# step), each phase timed (bench/first-start.ts), with the weight threads and without (GRAFT_WEIGHT_THREADS=0).
# Each run makes its own empty graph cache and then measures a second start in the same process.
source .gpu/prelude.sh
ln -sfn /tmp/gpu/node_modules node_modules
export GRAFT_ROOT=$PWD GRAFT_SHARED=$PWD/.gpu/shared GRAFT_BENCH_CACHE=/tmp/bm
E=.gpu/gpu-explore.cjs; L=$OUT/first-start.log
timeout 180 node $E models qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
for threads in "" 0; do
  echo "== GRAFT_WEIGHT_THREADS=${threads:-default}" >> $L
  GRAFT_WEIGHT_THREADS=$threads timeout 240 node $E first-start train qwen2.5-1.5b --device gpu --config 1x512 --precision fp16 >> $L 2>&1
  GRAFT_WEIGHT_THREADS=$threads timeout 180 node $E first-start decode qwen2.5-0.5b --device gpu >> $L 2>&1
done
tail -c 4000 $L
