"""PyTorch + PEFT training peer of Graft's rows (issue 13), for the shapes named on the command line: random init
on the GPU in bf16, LoRA r=16 alpha 32 on all 7 projections, AdamW, 3 warm-up steps then 10 timed (as
../shared/anchors/anchor_train.py measures, without its decode rows). One JSON line per (shape, batch x seq):
tokens/s, step ms, the allocator's peak (torch.cuda.max_memory_allocated) and what CUDA reports the process
using (mem_get_info's drop since start).   python3 bench/gpu/peer-train.py qwen2.5-0.5b:1x512,8x512 llama3.1-8b:1x1024"""
import json, sys, time
import torch
from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM
from peft import LoraConfig, get_peft_model

QWEN = dict(vocab_size=151936, max_position_embeddings=32768, rope_theta=1000000.0, tie_word_embeddings=True)
SHAPES = {
    "qwen2.5-0.5b": (Qwen2ForCausalLM, Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2, **QWEN)),
    "qwen2.5-1.5b": (Qwen2ForCausalLM, Qwen2Config(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12, num_key_value_heads=2, **QWEN)),
    "llama3.1-8b": (LlamaForCausalLM, LlamaConfig(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                                                  num_key_value_heads=8, max_position_embeddings=8192, rope_theta=500000.0, tie_word_embeddings=False)),
}
for arg in sys.argv[1:]:
    name, configs = arg.split(":")
    cls, cfg = SHAPES[name]
    torch.cuda.empty_cache()
    free0, _ = torch.cuda.mem_get_info()
    torch.manual_seed(0)
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        m = cls(cfg)
    torch.set_default_dtype(torch.float32)
    lc = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"], task_type="CAUSAL_LM")
    pm = get_peft_model(m, lc)
    pm.train()
    opt = torch.optim.AdamW([p for p in pm.parameters() if p.requires_grad], lr=2e-4)
    for c in configs.split(","):
        bs, seq = map(int, c.split("x"))
        x = torch.randint(0, cfg.vocab_size, (bs, seq), device="cuda")
        for _ in range(3):
            pm(input_ids=x, labels=x).loss.backward(); opt.step(); opt.zero_grad()
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
        n = 10; t = time.time()
        for _ in range(n):
            pm(input_ids=x, labels=x).loss.backward(); opt.step(); opt.zero_grad()
        torch.cuda.synchronize(); dt = (time.time() - t) / n
        free1, _ = torch.cuda.mem_get_info()
        print(json.dumps({"peer": "pytorch+peft bf16 LoRA", "model": name, "bs": bs, "seq": seq, "train_tok_s": round(bs * seq / dt), "step_ms": round(dt * 1000, 1),
                          "peak_allocated_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2), "process_used_gib": round((free0 - free1) / 2**30, 2)}), flush=True)
    del pm, m, opt
