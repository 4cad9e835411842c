# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh, fixtures included): issue 12's decode rows and
# llama.cpp's in one call when no warm machine holds a llama.cpp build. llama.cpp's CUDA build and the peers'
# models start in the background; meanwhile the bench models are written and `verify-reference --device gpu`
# runs (correctness only, so the load does not matter). Once built: the small Q4_K_M files, llama-bench tg128,
# then Graft's decode rows with the background work stopped (SIGSTOP) so nothing shares the host with them.
# Then the 4-bit base rows of 0.5B and 1.5B while time is left. The 8B Q4_K_M peer and the 8B 4-bit row need
# s12-y.sh on the same machine (its 8B model is made in the background here).
source bench/gpu/device-env.sh
L=$OUT/graft-d2.log; P=$OUT/peers2.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $L > $P
source bench/gpu/peers-build-start.sh
timeout 120 node $E models qwen2.5-0.5b smollm2-135m qwen2.5-1.5b > /dev/null 2>&1; echo "models at $(( $(date +%s) - t ))" >> $L
[ -d .gpu/shared/fixtures ] || tar -xJf .gpu/shared/fixtures.tar.xz -C .gpu/shared
VERIFY_UNTIL=230 V=$OUT/verify-gpu.jsonl source bench/gpu/verify-gpu.sh
while [ ! -f /tmp/lc/build.done ] && left 340; do sleep 2; done; echo "build rc $(cat /tmp/lc/build.done 2>/dev/null) at $(( $(date +%s) - t ))" >> $P
B=/tmp/lc/build/bin; M=/tmp/lc/models
while [ ! -f $M/qwen15b-f16.gguf ] && left 360; do sleep 2; done
for n in qwen05b qwen15b; do [ -f $M/$n-q4_k_m.gguf ] || { $B/llama-quantize $M/$n-f16.gguf /tmp/lc/$n.q4 Q4_K_M > /dev/null 2>&1 && mv /tmp/lc/$n.q4 $M/$n-q4_k_m.gguf; }; done
bg() { pkill -$1 -f 'make_llama8b|convert_hf_to_gguf|llama-quantize|peer-q4' ; }
bg STOP; echo "background stopped at $(( $(date +%s) - t ))" >> $P
$B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf,$M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf -ngl 99 -fa 1 -p 0 -n 128 -r 3 -o json > $OUT/llama-bench.json 2>/dev/null
echo "llama-bench done at $(( $(date +%s) - t ))" >> $P
# (the rows loop ran inline in session 12; decode-rows.sh is the same loop with these values)
ROWS_UNTIL=500 FIRST_T=80 SECOND_T=40 source bench/gpu/decode-rows.sh
left 535 && echo "== 4-bit base" >> $L && timeout 55 node $E packed qwen2.5-0.5b qwen2.5-1.5b >> $L 2>&1
bg CONT; echo "background resumed at $(( $(date +%s) - t ))" >> $P
rm -rf /tmp/graft-graphs
echo "total $(( $(date +%s) - t )) s" >> $L
grep -v '^\[' $L | cut -c1-400; tail -c 500 $P; tail -1 $OUT/verify-gpu.jsonl
