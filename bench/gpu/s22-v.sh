# GPU machine, fresh (carry [".gpu"] from decode-train-prepare.sh), ~2 min (session 22's call V): `graft
# verify-reference --device gpu` on every golden (verify-gpu.sh), now that generation's default is fp16 on the GPU and
# verify-reference pins fp32 (the goldens are PyTorch's fp32).
source bench/gpu/device-env.sh
t=$(date +%s)
echo "bundle $(cat .gpu/commit)"
source bench/gpu/verify-gpu.sh
tail -1 $V; echo "total $(( $(date +%s) - t )) s"
