# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~250 s, nothing in the background: where a
# captured step's time goes. Each decode row and the 1.5B training step report the host's ms inside the replays
# (the EP and Dawn encoding and submitting them, captured-graph.ts replayHostTime) beside the wall ms a step, at
# the default submit window (256) and at ORT's (16); and whether Nsight Systems is on the machine.
source bench/gpu/device-env.sh
L=$OUT/h.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "nsys: $(command -v nsys || echo none), ncu: $(command -v ncu || echo none), cores: $(nproc)" >> $L
timeout 150 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
BENCH_DTYPE=BF16 timeout 100 node $E models qwen2.5-1.5b > /dev/null 2>&1; echo "bf16 1.5B at $(( $(date +%s) - t ))" >> $L
for m in qwen2.5-0.5b smollm2-135m qwen2.5-1.5b; do
  for p in 256 16; do
    left 330 || break
    echo "== decode $m window $p" >> $L
    GRAFT_WEBGPU_PENDING=$p DECODE_QUICK=1 timeout 45 node $E decode $m 2>&1 | grep -v '^\[' >> $L
  done
done
for p in 256 16; do
  left 400 || break
  echo "== step qwen2.5-1.5b 1x512 window $p" >> $L
  GRAFT_WEBGPU_PENDING=$p BENCH_DTYPE=BF16 timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 2>&1 | grep -v '^\[' | grep -v first_step_only >> $L
done
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | sed 's/"sessions":\[[^]]*\],//; s/"sessions_created":\[[^]]*\],//' | cut -c1-600
