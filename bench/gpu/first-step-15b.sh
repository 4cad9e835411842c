# GPU machine, carry [".gpu"]: the 1.5B first training step from an empty graph cache, alone (the shortest call).
source bench/gpu/device-env.sh
L=$OUT/train-a.log
timeout 60 node $E models qwen2.5-1.5b >> $L 2>&1
timeout 60 node $E step qwen2.5-1.5b 1x512 fp16 >> $L 2>&1
grep -v '^\[' $L | cut -c1-800
