# GPU machine, the short form of s11-t.sh for what device time was left (carry [".gpu"]): each step guarded by
# the time left, the 1.5B first step now/before first, then the 0.5B rows, PyTorch + PEFT, the MatMul rate, 8B.
source bench/gpu/device-env.sh
L=$OUT/train-a.log; P=$OUT/peers.log; F=$OUT/first-step.log; t=$(date +%s); END=${END:-420}
# the seconds left (this script's own left, not device-env.sh's test)
left() { echo $(( END - ($(date +%s) - t) )); }
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $F > $P
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b >> $F 2>&1   # 60 s was too little in call T2
for side in now before; do
  [ $side = now ] && d=1 || d=0
  echo "== $side: GRAFT_DEFERRED_SAVE=$d" >> $F
  STEP_PRINT_FIRST=1 GRAFT_DEFERRED_SAVE=$d BENCH_DTYPE=BF16 GRAFT_ORT_OPT_LEVEL=basic GRAFT_GRAPH_CACHE=/tmp/gg-first timeout 75 node $E step qwen2.5-1.5b 1x512 fp16 >> $F 2>&1
  rm -rf /tmp/gg-first; echo "elapsed $(( $(date +%s) - t ))" >> $F
done
timeout 40 node $E models qwen2.5-0.5b >> $L 2>&1
[ $(left) -gt 80 ] && timeout 75 node $E step qwen2.5-0.5b 1x512,8x512 fp16 >> $L 2>&1
[ $(left) -gt 70 ] && timeout 60 node $E step qwen2.5-0.5b 1x512 nf4-fp16 >> $L 2>&1
[ $(left) -gt 60 ] && timeout 60 python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 qwen2.5-1.5b:1x512 >> $P 2> $OUT/peer.err
[ $(left) -gt 30 ] && GEMM_FORMS=float16:matmul timeout 30 node $E gemm 4096,896,4864 >> $L 2>&1
echo "elapsed $(( $(date +%s) - t ))" >> $L
echo "== Graft QLoRA at Llama-3.1-8B shapes" > $OUT/graft-8b.log
l=$(left); [ $l -gt 60 ] && BUDGET=$(( l - 10 )) timeout $l bash bench/gpu/qlora-8b.sh >> $OUT/graft-8b.log 2>&1
echo "total $(( $(date +%s) - t )) s" >> $P
grep -v '^\[' $F | cut -c1-500; grep -v '^\[' $L | cut -c1-300; tail -c 1200 $P; grep '^{"bench"' $OUT/graft-8b.log | cut -c1-300
