"""Export a trained TinyLM as a Hugging Face GPT-2 checkpoint with a word-level tokenizer, so that
lm-evaluation-harness evaluates it through its standard `hf` model, as a user's checkpoint would be.

TinyLM is GPT-2's architecture (learned positions, pre-norm LayerNorm, exact-GELU MLP of width
4·d, tied embeddings), so the export is a renaming of weights; GPT-2's Conv1D layers store their
weights transposed. The tokenizer splits on whitespace and maps each word to its id in the
versioned vocabulary; `<eos>` (which separates training documents) is also the BOS token that
the harness is told to prepend (`add_bos_token=True`).
"""

from __future__ import annotations

from pathlib import Path

import torch

from pretrain.corpus import CONTEXT, Corpus
from pretrain.model import TinyLM

EXPORTED_DTYPE = torch.float32


def gpt2_state_dict(model: TinyLM) -> dict[str, torch.Tensor]:
    """TinyLM's weights under GPT2LMHeadModel's names (Conv1D weights transposed)."""
    state = {"transformer.wte.weight": model.tokens.weight, "transformer.wpe.weight": model.positions.weight,
             "transformer.ln_f.weight": model.norm.weight, "transformer.ln_f.bias": model.norm.bias,
             "lm_head.weight": model.tokens.weight}
    for i, block in enumerate(model.blocks):
        prefix = f"transformer.h.{i}."
        for ours, theirs, conv in ((block.norm1, "ln_1", False), (block.qkv, "attn.c_attn", True),
                                   (block.proj, "attn.c_proj", True), (block.norm2, "ln_2", False),
                                   (block.up, "mlp.c_fc", True), (block.down, "mlp.c_proj", True)):
            state[prefix + theirs + ".weight"] = ours.weight.T if conv else ours.weight
            state[prefix + theirs + ".bias"] = ours.bias
    return {name: tensor.detach().to(EXPORTED_DTYPE).contiguous().clone() for name, tensor in state.items()}


def save_tokenizer(corpus: Corpus, folder: Path) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(vocab=corpus.ids, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    # with special tokens (the harness's add_bos_token=True), a text starts after <eos>, as in training
    backend.post_processor = processors.TemplateProcessing(single="<eos> $A", special_tokens=[("<eos>", corpus.ids["<eos>"])])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<eos>", eos_token="<eos>",
                                        pad_token="<pad>", unk_token="<unk>")
    tokenizer.model_max_length = CONTEXT
    tokenizer.save_pretrained(folder)


def export_hf(model: TinyLM, corpus: Corpus, folder: Path) -> Path:
    """Write `folder` with config, weights and tokenizer; `AutoModelForCausalLM` loads it."""
    from transformers import GPT2Config, GPT2LMHeadModel

    shape = model.shape
    config = GPT2Config(vocab_size=shape.vocab_size, n_positions=shape.context, n_embd=shape.width,
                        n_layer=shape.depth, n_head=shape.heads, activation_function="gelu", resid_pdrop=0.0,
                        embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5, bos_token_id=corpus.ids["<eos>"],
                        eos_token_id=corpus.ids["<eos>"], pad_token_id=corpus.ids["<pad>"], tie_word_embeddings=True)
    hf = GPT2LMHeadModel(config)
    missing, unexpected = hf.load_state_dict(gpt2_state_dict(model), strict=False)
    if unexpected or [m for m in missing if not m.endswith("attn.bias") and not m.endswith("masked_bias")]:
        raise RuntimeError(f"export mismatch: missing {missing}, unexpected {unexpected}")
    folder.mkdir(parents=True, exist_ok=True)
    hf.save_pretrained(folder)
    save_tokenizer(corpus, folder)
    return folder
