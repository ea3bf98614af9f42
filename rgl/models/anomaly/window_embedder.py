"""Image-, window- and patch-level CLIP features in batched passes."""
import torch
import torch.nn.functional as F
from torch import nn

from .class_token_pass import ClassTokenPass, supports_class_token_pass
from .windows import coverage_matrix, window_indices


class WindowEmbedder(nn.Module):
    """WinCLIP's multi-scale visual features from an open_clip ViT.

    One full pass gives the image embedding ``F_img`` (``(B, D)``, after
    the projection) and the patch tokens ``F_p`` (``(B, L, W)``, after
    ``ln_post``). A window of ``k x k`` patches is embedded by running the
    transformer on the class token plus only that window's tokens (with
    their positional embeddings): a token-subset pass, the ViT counterpart
    of masking the image outside the window. All windows of one scale are
    gathered into one batch of short sequences ``(B * N_w, 1 + k², W)``, so
    each scale is one batched transformer pass (chunked to bound memory)
    and there is no Python loop over windows. Only a window's class token
    is read, so the last block runs for it alone (:class:`.ClassTokenPass`,
    when the tower pools its class token).

    Args:
        visual (nn.Module): ``open_clip`` ``VisionTransformer``.
        scales (Sequence[int]): window sides ``k`` in patches; (2, 3) in the
            paper (small and mid windows; the image is the large one).
        max_sequences (int): sequences per transformer call; bounds memory.
    """

    def __init__(self, visual, scales=(2, 3), max_sequences=4096):
        super().__init__()
        if not hasattr(visual, 'transformer') or \
                not hasattr(visual, '_embeds'):
            raise TypeError('WindowEmbedder needs an open_clip '
                            f'VisionTransformer, got {type(visual).__name__}')
        self.visual = visual
        self.scales = tuple(int(k) for k in scales)
        self.max_sequences = int(max_sequences)
        self.grid = tuple(visual.grid_size)
        # no parameters of its own: the state dict is unchanged
        self.class_pass = ClassTokenPass(visual.transformer) \
            if supports_class_token_pass(visual) else None
        num_patches = self.grid[0] * self.grid[1]
        for k in self.scales:
            if not 1 <= k <= min(self.grid):
                raise ValueError(f'window scale {k} does not fit the '
                                 f'{self.grid} token grid')
            idx = window_indices(self.grid, k)
            # position 0 of every sequence is the class token
            seq = torch.cat([torch.zeros(len(idx), 1, dtype=torch.long),
                             idx + 1], dim=1)
            self.register_buffer(f'seq_{k}', seq, persistent=False)
            self.register_buffer(f'cover_{k}',
                                 coverage_matrix(idx, num_patches),
                                 persistent=False)

    @property
    def image_size(self):
        size = self.visual.image_size
        return tuple(size) if isinstance(size, (tuple, list)) else (size, ) * 2

    def coverage(self, k):
        return getattr(self, f'cover_{k}')

    def _head(self, x):
        """``ln_post`` + pooling + projection of transformer outputs."""
        pooled, tokens = self.visual._pool(x)
        if self.visual.proj is not None:
            pooled = pooled @ self.visual.proj
        return pooled, tokens

    def _run(self, seqs):
        """Transformer + head on ``(S, T, W)`` in chunks of
        ``max_sequences``: the pooled (class token) embeddings."""
        run = self.class_pass or self.visual.transformer
        out = [self._head(run(chunk))[0]
               for chunk in seqs.split(self.max_sequences)]
        return torch.cat(out)

    @torch.no_grad()
    def forward(self, x):
        """Features of normalised images ``x`` ``(B, 3, H, W)`` at the
        model's input size.

        Returns:
            dict: ``image`` ``(B, D)``, ``patches`` ``(B, L, W)`` and
            ``windows`` ``{k: (B, N_w, D)}``, all L2-normalised.
        """
        tokens = self.visual._embeds(x)  # (B, 1 + L, W), ln_pre applied
        image, patches = self._head(self.visual.transformer(tokens))
        # float32 from here on (under autocast the towers ran in bf16/fp16)
        feats = dict(image=F.normalize(image.float(), dim=-1),
                     patches=F.normalize(patches.float(), dim=-1),
                     windows={})
        b = x.shape[0]
        for k in self.scales:
            seq = getattr(self, f'seq_{k}')  # (N_w, 1 + k²)
            sub = tokens[:, seq].flatten(0, 1)  # (B * N_w, 1 + k², W)
            emb = self._run(sub).view(b, len(seq), -1)
            feats['windows'][k] = F.normalize(emb.float(), dim=-1)
        return feats

    @torch.no_grad()
    def forward_window_loop(self, x):
        """The same window embeddings with one transformer call per window:
        the straightforward reimplementation, kept as the reference that
        tests and ``tools/benchmarks/benchmark_winclip.py`` compare the
        batched :meth:`forward` against."""
        tokens = self.visual._embeds(x)
        windows = {}
        for k in self.scales:
            seq = getattr(self, f'seq_{k}')
            per_window = [self._head(self.visual.transformer(
                tokens[:, s]))[0] for s in seq]
            windows[k] = F.normalize(torch.stack(per_window, 1), dim=-1)
        return windows
