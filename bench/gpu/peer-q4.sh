# Background part of the decode calls: the 8B peer written straight as Q4_K_M (make_llama8b_q4.py: seconds;
# session 12's calls ran out of time waiting for make_llama8b.py's bf16 model, F16 GGUF and quantization), the
# F16 models of make_models.py, then, once llama.cpp is built, the Q4_K_M files of the small models.
M=/tmp/lc/models; D=.gpu/llamacpp; mkdir -p $M
[ -f $M/llama8b-q4_k_m.gguf ] || { python3 bench/gpu/make_llama8b_q4.py $M/llama8b.tmp /tmp/lc/src > /tmp/lc/models-8b.log 2>&1 && mv $M/llama8b.tmp $M/llama8b-q4_k_m.gguf; }
python3 $D/make_models.py $M /tmp/lc/src $D/tokenizer > /tmp/lc/models.log 2>&1
while [ ! -f /tmp/lc/build.done ]; do sleep 2; done
for n in qwen05b qwen15b; do
  [ -f $M/$n-q4_k_m.gguf ] || /tmp/lc/build/bin/llama-quantize $M/$n-f16.gguf $M/$n-q4_k_m.gguf Q4_K_M > /tmp/lc/quant-$n.log 2>&1
done
touch /tmp/lc/q4.done
