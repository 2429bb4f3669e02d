"""A tiny Llama-style model with random weights, built and saved locally (no model hub).

Used by the `vllm` tests and the CPU benchmark: vLLM loads it like any checkpoint, so batching, the
chat template, token counts and seeds are exercised for real. Its output is gibberish by design.
"""
from __future__ import annotations

from pathlib import Path

# A Jinja chat template in the usual shape: every message, roles marked, then the assistant header.
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)

CORPUS = [
    "A 58-year-old man presents with crushing central chest pain radiating to the left arm.",
    "You are an emergency department physician. Be cautious in your clinical decisions.",
    "What is the appropriate emergency department triage level for this patient?",
    "Assign an Emergency Severity Index level from 1 to 5 and state how confident you are.",
    "The patient is drowsy, the blood pressure is low and the heart rate is high.",
    "Can I take ibuprofen together with my warfarin? Fever, rash, cough, headache and nausea.",
    "ESI level: 2. Confidence: 80%. Seek care now; call an ambulance if symptoms worsen.",
]
SPECIAL_TOKENS = ["<|begin|>", "<|end|>", "<|pad|>", "<|system|>", "<|user|>", "<|assistant|>"]


def build_tiny_model(folder: Path, *, vocab_size: int = 512, seed: int = 0) -> Path:
    """Save a random-weight LlamaForCausalLM and its trained BPE tokenizer in `folder`; return it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|begin|>", eos_token="<|end|>",
                                        pad_token="<|pad|>")
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder)

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=128, intermediate_size=256, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=False, torch_dtype="float32",
    )
    LlamaForCausalLM(config).save_pretrained(folder, safe_serialization=True)
    return folder


if __name__ == "__main__":
    import sys

    print(build_tiny_model(Path(sys.argv[1])))
