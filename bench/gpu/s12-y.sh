# GPU machine, at once after s12-x.sh (nothing to carry: .gpu and /tmp/lc are still there): llama.cpp's
# Llama-3.1-8B Q4_K_M once its file is whole, then Graft's 4-bit base rows up to the same shapes, with nothing
# beside them. Report: npx tsx bench/gpu/report-decode.ts DIR_A DIR_X COMMIT DIR_Y
source bench/gpu/device-env.sh
L=$OUT/graft-packed.log; P=$OUT/peers3.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
left() { [ $(( $(date +%s) - t )) -lt $1 ]; }
B=/tmp/lc/build/bin; M=/tmp/lc/models
while [ ! -f /tmp/lc/q4.done ] && left 200; do sleep 2; done; echo "q4 at $(( $(date +%s) - t ))" >> $P
[ -f /tmp/lc/q4.done ] && $B/llama-bench -m $M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 0 -n 128 -r 3 -o json > $OUT/llama-bench-8b.json 2>/dev/null
pkill -STOP -f 'make_llama8b|convert_hf_to_gguf|llama-quantize|peer-q4'
echo "== 4-bit base" >> $L; timeout 170 node $E packed qwen2.5-0.5b qwen2.5-1.5b llama3.1-8b >> $L 2>&1
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-400; tail -c 400 $P; cat $OUT/llama-bench-8b.json 2>/dev/null | grep -E '"avg_ts"|model_type'
