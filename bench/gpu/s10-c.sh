# GPU machine, at once after s10-b.sh (carry [".gpu/shared/fixtures"]): llama.cpp Q4_K_M (0.5B, 1.5B, Llama-3.1-8B)
# and 4 sequences side by side, then `verify-reference --device gpu` on every golden while time is left.
source bench/gpu/device-env.sh
P=$OUT/peers.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $P
B=/tmp/lc/build/bin; M=/tmp/lc/models
[ -f /tmp/lc/build.done ] && $B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P.f16 2>/dev/null
for n in smol135m qwen05b; do $B/llama-batched-bench -m $M/$n-f16.gguf -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,4 -ngl 99 -fa on 2>/dev/null | grep -E '^\|' >> $P; done
while [ ! -f /tmp/lc/q4.done ] && [ $(( $(date +%s) - t )) -lt 300 ]; do sleep 2; done; echo "q4 at $(( $(date +%s) - t ))" >> $P
tail -5 /tmp/lc/models.log >> $P; ls -la $M >> $P
$B/llama-bench -m $M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf,$M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json >> $P 2>/dev/null
echo "peers elapsed $(( $(date +%s) - t ))" >> $P
# The 1.5B first training step from an empty graph cache (bf16 files, ORT at the basic level: the fastest form in
# session 9) with the default 8 weight threads and with 15 (the machine has 16 cores).
L=$OUT/first-step.log
BENCH_DTYPE=BF16 timeout 60 node $E models qwen2.5-1.5b >> $L 2>&1
for n in 8 15; do
  echo "== weight threads $n" >> $L
  GRAFT_WEIGHT_THREADS=$n BENCH_DTYPE=BF16 GRAFT_ORT_OPT_LEVEL=basic GRAFT_GRAPH_CACHE=/tmp/gg-t$n timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
  rm -rf /tmp/gg-t$n
done
grep -v '^\[' $L | cut -c1-400
VERIFY_UNTIL=${VERIFY_UNTIL:-545} V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $P
tail -c 3000 $P; tail -1 $OUT/verify-gpu.jsonl
