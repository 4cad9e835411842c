# Rebuilds bench/results/gpu-vs-peers-2026-12-04-s22-b.json (session 22's call B) from its raw logs, with call V's
# verify-reference, the dispatch counts (bench/decode-dispatches.ts) and the latest op-by-op profile (session 21's).
REPORT_SUFFIX=-s22-b REPORT_CALLS=B,B REPORT_PRECISION=fp16 REPORT_VERIFY_DIR=bench/results/raw/s22-call-v \
REPORT_DISPATCHES=bench/results/decode-dispatches-2026-12-04.json \
REPORT_PROFILE='bench/results/decode-fp16-h200-2026-12-04.json#profile_G' \
REPORT_WHAT="Session 22's call B (bench/gpu/decode-all-one-call.sh, bundle 1870c67, fresh machine): generation's default precision, auto, is fp16 for every row on the GPU's float base from this commit; Graft's rows ran beside llama.cpp's CUDA build (pinned to other cores), llama.cpp's after it with nothing beside. The A/B slot did not run: the 4-bit rows ended at 365 s." \
REPORT_NOTE="verify_reference_gpu: call V (bench/gpu/s22-v.sh, bundle 1870c67), 12/12. Nothing-beside rows at 1.5B and 135M and the split-K A/B: call S, in decode-forms-h200-2026-12-04-s22.json. dispatches: counted from the graphs of this code (bench/decode-dispatches.ts). profile: no call of this session ran one; the latest op-by-op profile is session 21's call G (fp16, 0.5B, 4 rows with adapters, 944 dispatches a step against the 930 counted here). What bounds each row: docs/gpu-speed.md, twentieth pass." \
npx tsx bench/gpu/report-decode.ts bench/results/raw/s22-call-b bench/results/raw/s22-call-b 1870c67
