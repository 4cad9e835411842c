# GPU machine, at once after s11-d1.sh on the warm machine (carry nothing: .gpu, the bench models and llama.cpp's
# build are still there): llama.cpp F16 and Q4_K_M (tg128, pp512), then Graft's decode rows with nothing beside:
# each fp32-base model from an empty graph cache (first start: first token, greedy, sampled, 4 rows, the Chat's
# sampler), then again in a new process with the cache filled (second start); the symmetric 4-bit base up to
# Llama-3.1-8B shapes. Report: npx tsx bench/gpu/report-decode.ts D1_DIR D2_DIR COMMIT
source bench/gpu/device-env.sh
L=$OUT/graft-d2.log; P=$OUT/peers2.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
B=/tmp/lc/build/bin; M=/tmp/lc/models
while [ ! -f /tmp/lc/q4.done ] && [ $(( $(date +%s) - t )) -lt 120 ]; do sleep 2; done; echo "q4 at $(( $(date +%s) - t ))" >> $P; ls -la $M >> $P
$B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf,$M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf,$M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 512 -n 128 -r 3 -o json > $OUT/llama-bench.json 2>/dev/null
echo "peers elapsed $(( $(date +%s) - t ))" >> $P
ROWS_UNTIL=400 FIRST_T=100 SECOND_T=50 SECOND_FOR="smollm2-135m qwen2.5-0.5b qwen2.5-1.5b" source bench/gpu/decode-rows.sh
left 420 && echo "== 4-bit base" >> $L && timeout $(( 555 - ($(date +%s) - t) )) node $E packed qwen2.5-0.5b qwen2.5-1.5b llama3.1-8b >> $L 2>&1
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-700; tail -c 600 $P
