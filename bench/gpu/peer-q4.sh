# Background part of phase A (DECODE_ONLY): the F16 models of make_models.py, the 8B model, then, once
# llama.cpp is built, Q4_K_M files for the packed-base rows (F16 of the 8B removed after: disk).
M=/tmp/lc/models; D=.gpu/llamacpp
python3 $D/make_models.py $M /tmp/lc/src $D/tokenizer > /tmp/lc/models.log 2>&1
python3 bench/gpu/make_llama8b.py $M /tmp/lc/src $D/tokenizer >> /tmp/lc/models.log 2>&1
while [ ! -f /tmp/lc/build.done ]; do sleep 2; done
for n in qwen05b qwen15b llama8b; do
  [ -f $M/$n-q4_k_m.gguf ] || /tmp/lc/build/bin/llama-quantize $M/$n-f16.gguf $M/$n-q4_k_m.gguf Q4_K_M > /tmp/lc/quant-$n.log 2>&1
done
rm -f $M/llama8b-f16.gguf
touch /tmp/lc/q4.done
