"""Tiny random diffusers pipelines saved to a local folder.

Tests and the CPU benchmark build the real architectures (UNet2DConditionModel,
AutoencoderKL, CLIPTextModel with a CLIPTokenizer) at a toy width and save
them with ``save_pretrained``, so they load through the same
``from_pretrained(local_dir)`` path as released weights. The tokenizer's
byte-level BPE vocabulary is written here (no hub).
"""
import json
import os
import os.path as osp


def _byte_symbols():
    """GPT-2/CLIP byte-level BPE: each of the 256 bytes as a printable
    character (printable Latin-1 bytes map to themselves, the rest to
    code points from 256 on)."""
    keep = (list(range(ord('!'), ord('~') + 1))
            + list(range(ord('\xa1'), ord('\xac') + 1))
            + list(range(ord('\xae'), ord('\xff') + 1)))
    extra = [b for b in range(256) if b not in keep]
    chars = {b: chr(b) for b in keep}
    chars.update({b: chr(256 + i) for i, b in enumerate(extra)})
    return [chars[b] for b in range(256)]


def write_tokenizer_files(folder):
    """A CLIP BPE vocabulary of the 256 byte symbols (plain and with the
    end-of-word mark), a handful of merges and the two special tokens."""
    symbols = _byte_symbols()
    vocab = symbols + [s + '</w>' for s in symbols]
    merges = ['t h', 'th e</w>', 'a n', 'i n', 'o n</w>']
    vocab += [m.replace(' ', '') for m in merges]
    vocab += ['<|startoftext|>', '<|endoftext|>']
    os.makedirs(folder, exist_ok=True)
    with open(osp.join(folder, 'vocab.json'), 'w') as f:
        json.dump({tok: i for i, tok in enumerate(vocab)}, f)
    with open(osp.join(folder, 'merges.txt'), 'w') as f:
        f.write('#version: 0.2\n' + '\n'.join(merges) + '\n')
    return len(vocab)


def build_tiny_pipeline(folder, kind='instruct_pix2pix', seed=0,
                        sample_size=8):
    """Save a random toy pipeline to ``folder`` and return the folder.

    Args:
        folder (str): where to save (created).
        kind (str): ``'instruct_pix2pix'`` (UNet with 8 input channels:
            noisy latent and image latent) or ``'stable_diffusion'``.
        seed (int): initialisation seed.
        sample_size (int): the UNet's nominal latent size.
    """
    import torch
    from diffusers import (AutoencoderKL, DDIMScheduler,
                           StableDiffusionInstructPix2PixPipeline,
                           StableDiffusionPipeline, UNet2DConditionModel)
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
    torch.manual_seed(seed)
    tok_dir = osp.join(folder, '_tokenizer_src')
    vocab_size = write_tokenizer_files(tok_dir)
    tokenizer = CLIPTokenizer(osp.join(tok_dir, 'vocab.json'),
                              osp.join(tok_dir, 'merges.txt'),
                              model_max_length=16)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=16, intermediate_size=32,
        num_hidden_layers=1, num_attention_heads=2,
        max_position_embeddings=16, bos_token_id=vocab_size - 2,
        eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1))
    unet = UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=8 if kind == 'instruct_pix2pix' else 4, out_channels=4,
        block_out_channels=(16, 32), layers_per_block=1, norm_num_groups=8,
        down_block_types=('CrossAttnDownBlock2D', 'DownBlock2D'),
        up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D'),
        cross_attention_dim=16, attention_head_dim=4)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4,
        block_out_channels=(8, 16), layers_per_block=1, norm_num_groups=8,
        down_block_types=('DownEncoderBlock2D', ) * 2,
        up_block_types=('UpDecoderBlock2D', ) * 2, sample_size=16)
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012,
                              beta_schedule='scaled_linear',
                              clip_sample=False, set_alpha_to_one=False,
                              steps_offset=1)
    cls = (StableDiffusionInstructPix2PixPipeline
           if kind == 'instruct_pix2pix' else StableDiffusionPipeline)
    pipe = cls(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer,
               unet=unet, scheduler=scheduler, safety_checker=None,
               feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder)
    import shutil
    shutil.rmtree(tok_dir)
    return folder
