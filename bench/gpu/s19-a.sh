# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~560 s: the WebGPU EP's submit window
# (GRAFT_WEBGPU_PENDING: dispatches per queue submit, webgpu-context.ts) at ORT's 16 against 256 and 4096, one
# process each, alternating: the decode rows (greedy, one row and 4 rows) of 0.5B, 135M and 1.5B, and the 1.5B
# 1x512 training step with the GPU's memory peak (nvidia-smi, 100 ms). llama.cpp's build and models run in the
# background pinned to cores 4-15, Graft on 0-3; then llama-bench and llama-batched-bench with nothing beside.
source bench/gpu/device-env.sh
L=$OUT/a.log; P=$OUT/peers2.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P; cp $P $OUT/peers.log
[ -d .gpu/llamacpp/tokenizer ] || tar -xJf .gpu/llamacpp/tokenizer.tar.xz -C .gpu/llamacpp
BG=""; command -v taskset > /dev/null && BG="taskset -c 4-15"
BUILD_ONLY=1 WAIT=0 nice -n 10 $BG bash .gpu/llamacpp/run.sh > /dev/null 2>&1
(nice -n 10 $BG bash bench/gpu/peer-q4.sh > /tmp/lc/peer-q4.log 2>&1 &)
[ -n "$BG" ] && taskset -cp 0-3 $$ > /dev/null
timeout 150 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
BENCH_DTYPE=BF16 timeout 100 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "bf16 1.5B at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  for p in 16 4096 256 16 4096; do
    left 330 || break
    echo "== decode $m window $p" >> $L
    GRAFT_WEBGPU_PENDING=$p DECODE_QUICK=1 timeout 45 node $E decode $m 2>&1 | grep -v '^\[' >> $L
  done
done
for p in 16 4096 256 16 4096; do
  left 420 || break
  echo "== step qwen2.5-1.5b 1x512 window $p" >> $L
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > /tmp/mem.$p.log 2>/dev/null & S=$!
  GRAFT_WEBGPU_PENDING=$p BENCH_DTYPE=BF16 timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v '^\[' | grep -v first_step_only >> $L
  kill $S 2>/dev/null; echo "gpu memory peak MiB $(sort -n /tmp/mem.$p.log | tail -1)" >> $L
done
echo "graft done at $(( $(date +%s) - t ))" >> $L
[ -n "$BG" ] && taskset -cp 0-$(( $(nproc --all) - 1 )) $$ > /dev/null
PEERS_WAIT_UNTIL=480 source bench/gpu/peers-bench.sh
bg CONT; echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-330; tail -c 600 $P; tail -c 1500 $OUT/peers.log
