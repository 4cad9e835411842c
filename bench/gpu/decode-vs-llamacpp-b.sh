# GPU machine, at once after decode-vs-llamacpp-a.sh (carry [".gpu"] again: a machine found bare needs it):
# session 11's s11-d2.sh with the 8B peer waited for. llama-bench F16 and Q4_K_M of the small models, then
# Graft's decode with nothing beside (first start, second start in a new process, 4 rows; the 4-bit base to
# Llama-3.1-8B shapes); the 8B Q4_K_M bench once its file is whole (q4.done), on its own so a failure there cuts
# nothing else; `verify-reference --device gpu` while time is left.
# Report: npx tsx bench/gpu/report-decode.ts DIR_A DIR_B COMMIT (it reads ab.log, peers.log, graft-d2.log, llama-bench.json)
source bench/gpu/device-env.sh
L=$OUT/graft-d2.log; P=$OUT/peers2.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
B=/tmp/lc/build/bin; M=/tmp/lc/models
$B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf,$M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json > $OUT/llama-bench.json 2>/dev/null
ROWS_UNTIL=330 FIRST_T=100 SECOND_T=50 SECOND_FOR="smollm2-135m qwen2.5-0.5b qwen2.5-1.5b" source bench/gpu/decode-rows.sh
left 360 && echo "== 4-bit base" >> $L && timeout 150 node $E packed qwen2.5-0.5b qwen2.5-1.5b llama3.1-8b >> $L 2>&1
while [ ! -f /tmp/lc/q4.done ] && left 520; do sleep 2; done; echo "q4 at $(( $(date +%s) - t ))" >> $P
[ -f /tmp/lc/q4.done ] && $B/llama-bench -m $M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json > $OUT/llama-bench-8b.json 2>/dev/null
VERIFY_UNTIL=555 V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-500; tail -c 600 $P; tail -1 $OUT/verify-gpu.jsonl
