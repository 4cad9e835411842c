# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~300 s, nothing in the background: issue 13
# item 1 at 1.5B sampled again, Graft's 1x512 step and PyTorch + PEFT's in turn, three rounds, one process each (the
# peer's step moved 146-229 ms across sessions 13-18, Graft's ~200 ms). Report: by hand from $OUT/r.log.
source bench/gpu/device-env.sh
L=$OUT/r.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
BENCH_DTYPE=BF16 timeout 150 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for round in 1 2 3; do
  echo "== round $round" >> $L
  left 470 && BENCH_DTYPE=BF16 timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v '^\[' | grep -v first_step_only >> $L
  left 500 && timeout 60 python3 bench/gpu/peer-train.py qwen2.5-1.5b:1x512 >> $L 2>> $OUT/peer.err
done
echo "total $(( $(date +%s) - t )) s" >> $L
cut -c1-260 $L
