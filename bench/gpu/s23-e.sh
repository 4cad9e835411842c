# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~3 min, nothing in the background (session 23's
# call E). Calls B-C: a 1-layer, 8,192-word step (0.5B wide) takes ~1.25 ms replayed while its kernels take at most
# 0.35 ms (op by op, timestamps) and the host 0.15 ms inside the replay; NVML saw the GPU busy ~15% of that time.
# Is the rest a latency of the process's queue (two processes would then overlap it) or the GPU's (they would not)?
# 1) the 1-layer step and the 24-layer 0.5B alone, then two processes at once (pinned apart), each twice;
# 2) the 1-layer step with a submit every dispatch (GRAFT_WEBGPU_PENDING=1) against 256;
# 3) NVML's utilization sampled every 50 ms beside all of it.
source bench/gpu/device-env.sh
L=$OUT/e.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
echo "bundle $(cat .gpu/commit)" >> $L
nvidia-smi --query-gpu=timestamp,clocks.sm,utilization.gpu --format=csv,noheader -lms 50 > $OUT/util.csv 2>&1 &
S=$!
M="qwen2.5-0.5b~l1~v8192 qwen2.5-0.5b"
timeout 120 node $E models $M > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
one() { GRAFT_GREEDY_CHAIN=8 DECODE_QUICK=2 timeout 40 node $E decode $1 2>&1 | grep -v Warning | python3 bench/gpu/no-sessions.py; }
for m in $M; do
  for r in 1 2; do
    echo "== alone $r: $m at $(( $(date +%s) - t ))" >> $L; one $m >> $L
    echo "== two at once $r: $m at $(( $(date +%s) - t ))" >> $L
    taskset -c 0-3 bash -c "$(declare -f one); E=$E; one '$m'" > /tmp/p1.log & P1=$!
    taskset -c 8-11 bash -c "$(declare -f one); E=$E; one '$m'" > /tmp/p2.log; wait $P1
    cat /tmp/p1.log /tmp/p2.log >> $L
  done
done
for w in 1 256; do
  echo "== window $w: qwen2.5-0.5b~l1~v8192 at $(( $(date +%s) - t ))" >> $L
  GRAFT_WEBGPU_PENDING=$w one 'qwen2.5-0.5b~l1~v8192' >> $L
done
kill $S
echo "total $(( $(date +%s) - t )) s" >> $L
cat $L
