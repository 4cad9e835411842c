# GPU machine, a probe before changing the decode graph: the one-row products that bound decode, each form timed by
# the GPU's own timestamps (bench/matvec-profile.ts), and one decode's GPU time by kernel on the fused graph (fp32
# base and int4 base, Qwen2.5-0.5B shapes; bench/ort-profile-summary.py). Carry [".gpu"] (decode-train-prepare.sh).
source bench/gpu/device-env.sh
L=$OUT/probe.log; t=$(date +%s)
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $L
timeout 100 node .gpu/matvec-profile.cjs 896,4864 1536,8960 4096,14336 > $OUT/matvec.jsonl 2>> $L
echo "matvec elapsed $(( $(date +%s) - t ))" >> $L
VARIANTS=f32,splitk8_f32,splitk16_f32,splitk32_f32,rowsum_f32,rowsum_f16,nbits8_f32,nbits4_f32 timeout 40 node .gpu/matvec-profile.cjs 896,151936 >> $OUT/matvec.jsonl 2>> $L
echo "matvec head elapsed $(( $(date +%s) - t ))" >> $L
mkdir -p $OUT/prof
timeout 90 node $E decode-profile $OUT/prof/fp32 qwen2.5-0.5b >> $L 2>&1
timeout 60 node $E decode-profile $OUT/prof/int4 --packed qwen2.5-0.5b >> $L 2>&1
echo "profiles elapsed $(( $(date +%s) - t ))" >> $L
for f in $(ls -S $OUT/prof/*.json); do [ -s $f ] && python3 bench/ort-profile-summary.py $f --shapes 25 --runs 126 > $f.summary; done
find $OUT/prof -name '*.json' -size -1k -delete
xz -T4 $OUT/prof/*.json
grep -v '^\[' $L | cut -c1-300; cut -c1-200 $OUT/matvec.jsonl
