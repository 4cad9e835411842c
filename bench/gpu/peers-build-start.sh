# Sourced first thing by the device calls that measure decode beside llama.cpp (decode-train-a.sh, s9-a.sh): starts
# llama.cpp's CUDA build and then the peers' models (F16, and Q4_K_M with the 8B) in the background, at low priority.
[ -d .gpu/llamacpp/tokenizer ] || tar -xJf .gpu/llamacpp/tokenizer.tar.xz -C .gpu/llamacpp
BUILD_ONLY=1 WAIT=0 nice -n 10 bash .gpu/llamacpp/run.sh > /dev/null 2>&1
(nice -n 10 bash bench/gpu/peer-q4.sh > /tmp/lc/peer-q4.log 2>&1 &)
