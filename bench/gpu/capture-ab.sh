# GPU machine, fresh or warm (carry [".gpu"] from decode-train-prepare.sh or train-prepare.sh): greedy decode
# with chains replayed from the WebGPU EP's graph capture (GRAFT_GRAPH_CAPTURE=1, now the default) against
# op-by-op runs (=0, the path before), alternating in one process (gpu-explore capture-ab: 3 rounds, best of 3
# each; one row and 4 rows side by side), fp32 bases then 4-bit bases up to Llama-3.1-8B shapes; then the 0.5B
# decode rows with capture on (first token from an empty graph cache and again in a new process); then
# `verify-reference --device gpu` (its greedy decode takes the captured path) while time is left. Nothing runs
# beside: llama.cpp's figures for the ratios are this session's call D (decode-one-call.sh), not this call.
# AB_UNTIL, PACKED_MODELS, PACKED_UNTIL, PACKED_END, ROWS=0, VERIFY_FROM, VERIFY_UNTIL shorten it for a call with less device time.
source bench/gpu/device-env.sh
L=$OUT/capture.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L
timeout 120 node $E models smollm2-135m qwen2.5-0.5b qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
for m in smollm2-135m qwen2.5-0.5b qwen2.5-1.5b; do
  left ${AB_UNTIL:-330} || break
  echo "== capture-ab $m" >> $L; timeout 100 node $E capture-ab $m >> $L 2>&1
done
for m in ${PACKED_MODELS:-qwen2.5-1.5b llama3.1-8b}; do
  left ${PACKED_UNTIL:-420} || break
  echo "== packed-capture-ab $m" >> $L; timeout $(( ${PACKED_END:-540} - ($(date +%s) - t) )) node $E packed-capture-ab $m >> $L 2>&1
done
echo "elapsed $(( $(date +%s) - t ))" >> $L
if [ "${ROWS:-1}" = 1 ] && left 470; then
  m=qwen2.5-0.5b; rm -rf /tmp/graft-graphs
  echo "== first start: $m" >> $L; DECODE_AB=0 timeout 45 node $E decode $m >> $L 2>&1
  echo "== second start: $m" >> $L; DECODE_QUICK=1 timeout 30 node $E decode $m >> $L 2>&1
fi
left ${VERIFY_FROM:-520} && VERIFY_UNTIL=${VERIFY_UNTIL:-560} V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | grep -v '"round"' | cut -c1-400; tail -1 $OUT/verify-gpu.jsonl 2>/dev/null
