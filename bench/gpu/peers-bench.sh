# Sourced by the decode calls (decode-one-call.sh, decode-all-one-call.sh) after peers-build-start.sh, with $P (the
# peers' log) and $t (the call's start) set: waits for llama.cpp's build and its Q4_K_M files (at most until
# PEERS_WAIT_UNTIL seconds of the call), stops the background (SIGSTOP: bg CONT resumes it), then llama-bench tg128
# on the six models and llama-batched-bench with 1 and 4 sequences, with nothing else running.
while [ ! -f /tmp/lc/q4.done ] && left ${PEERS_WAIT_UNTIL:-330}; do sleep 2; done; echo "build rc $(cat /tmp/lc/build.done 2>/dev/null), q4 $( [ -f /tmp/lc/q4.done ] && echo done) at $(( $(date +%s) - t ))" >> $P
B=/tmp/lc/build/bin; M=/tmp/lc/models
bg() { pkill -$1 -f 'make_models|convert_hf_to_gguf|llama-quantize|peer-q4' ; }
bg STOP
$B/llama-bench -m $M/smol135m-f16.gguf,$M/qwen05b-f16.gguf,$M/qwen15b-f16.gguf,$M/qwen05b-q4_k_m.gguf,$M/qwen15b-q4_k_m.gguf,$M/llama8b-q4_k_m.gguf -ngl 99 -fa 1 -p 0 -n 128 -r 3 -o json > $OUT/llama-bench.json 2>/dev/null
for n in smol135m qwen05b; do $B/llama-batched-bench -m $M/$n-f16.gguf -c 4096 -b 2048 -ub 512 -npp 32 -ntg 64 -npl 1,4 -ngl 99 -fa on 2>/dev/null | grep -E '^\|' >> $OUT/peers.log; done
echo "peers done at $(( $(date +%s) - t ))" >> $P
