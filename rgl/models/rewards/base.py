"""The common interface of reward models: ``score(images, prompts) -> (N,)``.

Images are ``(N, 3, H, W)`` tensors in ``[0, 1]`` (rgl's image convention)
or a list of ``(3, H_i, W_i)`` tensors of different sizes; each model
resizes and normalises them itself.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from rgl.utils.errors import DataError


def to_model_pixels(images, size, mean, std):
    """Resize (shorter side to ``size``, bicubic), centre-crop to
    ``size x size`` and normalise a batch of ``[0, 1]`` images.

    Args:
        images (Tensor | list[Tensor]): ``(N, 3, H, W)`` or a list of
            ``(3, H_i, W_i)`` images in ``[0, 1]``.
        size (int): the model's input side.
        mean (Sequence[float]): per-channel mean of the model.
        std (Sequence[float]): per-channel standard deviation.

    Returns:
        Tensor: ``(N, 3, size, size)``.
    """
    if isinstance(images, torch.Tensor):
        if images.dim() != 4 or images.shape[1] != 3:
            raise DataError(f'reward models take images (N, 3, H, W) in '
                            f'[0, 1]; got shape {tuple(images.shape)}')
        groups = [images]
    else:
        groups = [im[None] for im in images]
    out = []
    for x in groups:
        h, w = x.shape[-2:]
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        if (nh, nw) != (h, w):
            x = F.interpolate(x.float(), size=(nh, nw), mode='bicubic',
                              align_corners=False, antialias=True)
        top, left = (nh - size) // 2, (nw - size) // 2
        out.append(x[..., top:top + size, left:left + size].clamp(0, 1))
    x = torch.cat(out)
    mean = x.new_tensor(mean).view(1, 3, 1, 1)
    std = x.new_tensor(std).view(1, 3, 1, 1)
    return (x - mean) / std


class BaseRewardModel(nn.Module):
    """A frozen text-image reward ``r(x, p)``.

    Subclasses implement :meth:`score_batch`; :meth:`score` splits the
    inputs into batches of ``batch_size``. Dual encoders (CLIP, PickScore)
    also override :meth:`score_grid` so that every image is encoded once
    against all of its prompts.

    Args:
        batch_size (int): images scored per forward pass.
    """

    def __init__(self, batch_size=32):
        super().__init__()
        self.batch_size = int(batch_size)

    @property
    def device(self):
        return next(self.parameters()).device

    def score_batch(self, images, prompts):
        raise NotImplementedError

    @staticmethod
    def _check(images, prompts):
        if isinstance(prompts, str):
            prompts = [prompts] * len(images)
        prompts = list(prompts)
        if len(prompts) != len(images):
            raise DataError(f'score(images, prompts) needs one prompt per '
                            f'image; got {len(images)} images and '
                            f'{len(prompts)} prompts')
        return prompts

    @torch.no_grad()
    def score(self, images, prompts):
        """Rewards ``r(x_i, p_i)``.

        Args:
            images (Tensor | list[Tensor]): N images in ``[0, 1]``.
            prompts (list[str] | str): N prompts (or one for all).

        Returns:
            Tensor: ``(N,)`` float rewards on CPU.
        """
        prompts = self._check(images, prompts)
        out = []
        for i in range(0, len(prompts), self.batch_size):
            out.append(self.score_batch(images[i:i + self.batch_size],
                                        prompts[i:i + self.batch_size])
                       .float().cpu())
        return torch.cat(out) if out else torch.zeros(0)

    @torch.no_grad()
    def score_grid(self, images, prompt_lists):
        """Rewards of image ``i`` against each prompt of ``prompt_lists[i]``.

        Args:
            images (Tensor | list[Tensor]): N images.
            prompt_lists (list[list[str]]): N lists of the same length P.

        Returns:
            Tensor: ``(N, P)``.
        """
        n, p = len(prompt_lists), len(prompt_lists[0]) if prompt_lists else 0
        if any(len(ps) != p for ps in prompt_lists):
            raise DataError('score_grid needs the same number of prompts '
                            'for every image')
        index = [i for i in range(n) for _ in range(p)]
        if isinstance(images, torch.Tensor):
            rep = images[index]
        else:
            rep = [images[i] for i in index]
        flat = [q for ps in prompt_lists for q in ps]
        return self.score(rep, flat).view(n, p)


class DualEncoderReward(BaseRewardModel):
    """``r(x, p) = s · cos(E_I(x), E_T(p))`` for a CLIP-like dual encoder
    with scale ``s`` (its learned logit scale by default)."""

    def encode_images(self, images):
        raise NotImplementedError

    def encode_texts(self, texts):
        raise NotImplementedError

    def reward_scale(self):
        raise NotImplementedError

    def score_batch(self, images, prompts):
        img = F.normalize(self.encode_images(images).float(), dim=-1)
        txt = F.normalize(self.encode_texts(prompts).float(), dim=-1)
        return self.reward_scale() * (img * txt).sum(-1)

    @torch.no_grad()
    def score_grid(self, images, prompt_lists):
        n = len(prompt_lists)
        p = len(prompt_lists[0]) if n else 0
        if any(len(ps) != p for ps in prompt_lists):
            raise DataError('score_grid needs the same number of prompts '
                            'for every image')
        unique = sorted({q for ps in prompt_lists for q in ps})
        where = {q: j for j, q in enumerate(unique)}
        txt = torch.cat([F.normalize(self.encode_texts(
            unique[i:i + self.batch_size]).float(), dim=-1)
            for i in range(0, len(unique), self.batch_size)])
        img = torch.cat([F.normalize(self.encode_images(
            images[i:i + self.batch_size]).float(), dim=-1)
            for i in range(0, n, self.batch_size)])
        idx = torch.tensor([[where[q] for q in ps] for ps in prompt_lists],
                           device=txt.device)
        cos = torch.einsum('nd,npd->np', img, txt[idx])
        return (self.reward_scale() * cos).float().cpu()
