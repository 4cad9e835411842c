# The 8B peer for decode on a 4-bit base: a random-init Llama-3.1-8B-shaped model (bf16, on the GPU),
# saved as an HF folder, converted to F16 GGUF by llama.cpp's own converter (the HF folder is then
# removed: the machine's disk is small). llama-quantize makes the Q4_K_M (bench/gpu/peer-q4.sh).
import sys, os, subprocess, torch, time, shutil
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
out, src, tokdir = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out, exist_ok=True)
if not os.path.exists(f"{out}/llama8b-f16.gguf"):
    t = time.time(); torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                      num_key_value_heads=8, max_position_embeddings=8192, rope_theta=5e5, rms_norm_eps=1e-5,
                      tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    with torch.device("cuda"):
        m = LlamaForCausalLM(cfg).to(torch.bfloat16)
    d = f"{out}/llama8b-hf"; m.save_pretrained(d); del m; torch.cuda.empty_cache()
    PreTrainedTokenizerFast(tokenizer_file=f"{tokdir}/tokenizer.json", bos_token="<|im_start|>", eos_token="<|im_end|>").save_pretrained(d)
    r = subprocess.run([sys.executable, f"{src}/convert_hf_to_gguf.py", d, "--outfile", f"{out}/llama8b-f16.gguf", "--outtype", "f16"],
                       env=dict(os.environ, PYTHONPATH=f"{src}/gguf-py"), capture_output=True, text=True)
    shutil.rmtree(d)
    print("llama8b f16:", r.returncode, r.stderr[-400:] if r.returncode else "", f"{time.time() - t:.0f}s", flush=True)
