"""HASTE: holistic alignment (attention maps + features) with stage-wise
termination (Wang et al., 2025, "REPA works until it doesn't")."""
import torch

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .repa_aligner import REPAAligner

HEAD_MODES = ('per_head', 'mean')


def attention_cross_entropy(student_logits, teacher_logits,
                            head_mode='per_head'):
    """CE(P_teacher, softmax(S_student)) per query row, averaged.

    With teacher logits T and student logits S of shape (N, H, Q, K),
    P = softmax(T) and log Q = log_softmax(S) over the K keys,

        CE = mean_{n, h, q} ( − Σ_k P[n, h, q, k] · log Q[n, h, q, k] ).

    ``head_mode='per_head'`` pairs teacher head h with student head h and
    uses the student's first H_teacher heads (HASTE: 12 DINOv2-B heads
    against the first 12 of SiT-XL's 16). ``'mean'`` compares the
    head-averaged maps P̄ and Q̄ instead (for a student with fewer heads).
    Computed in fp32.
    """
    if head_mode not in HEAD_MODES:
        raise ConfigError(f'head_mode must be one of {HEAD_MODES}, got '
                          f'{head_mode!r}')
    s, t = student_logits.float(), teacher_logits.float()
    if s.shape[0] != t.shape[0] or s.shape[-2:] != t.shape[-2:]:
        raise ConfigError(f'attention maps of shape {tuple(s.shape)} '
                          f'(generator) and {tuple(t.shape)} (encoder) do not '
                          'match: the token grids must be equal')
    if head_mode == 'mean':
        p = t.softmax(-1).mean(1)
        log_q = s.softmax(-1).mean(1).clamp_min(1e-12).log()
        return -(p * log_q).sum(-1).mean()
    heads = t.shape[1]
    if s.shape[1] < heads:
        raise ConfigError(f"head_mode='per_head' pairs each of the "
                          f'{heads} encoder heads with a generator head, but '
                          f"the generator has {s.shape[1]}; use "
                          f"head_mode='mean'")
    return -(t.softmax(-1) * s[:, :heads].log_softmax(-1)).sum(-1).mean()


@MODELS.register_module()
class HASTEAligner(REPAAligner):
    """REPA's feature alignment plus attention-map distillation.

    Beside L_REPA (all the arguments of :class:`REPAAligner`), the
    attention logits S_b of generator blocks b ∈ ``attn_blocks`` are
    pulled towards the encoder's T_{b'} of blocks b' ∈
    ``encoder_attn_blocks`` (paired in order) by

        L_attn = μ · (1/P) Σ_(b, b') CE(softmax(T_b'), softmax(S_b)),

    with P the number of pairs, over patch tokens only (class, register
    and other prefix tokens of either network are dropped and the maps
    renormalised over the rest).
    HASTE switches both terms off after a fixed iteration
    (``AlignmentEarlyStopHook``; 250K for SiT-XL/2).

    Attention maps are materialised only where they are needed: the
    chosen generator blocks switch from fused SDPA to an explicit softmax
    only in training forward passes while the aligner is on, and the
    encoder's maps are read by hooks on its chosen blocks alone.

    Args:
        attn_blocks (Sequence[int]): 0-indexed generator blocks (HASTE on
            SiT-XL/2: 4, 5, 6, 7, the four blocks before the REPA tap at
            depth 8).
        encoder_attn_blocks (Sequence[int]): 0-indexed encoder blocks,
            one per generator block (DINOv2-B: 8, 9, 10, 11, its last
            four).
        attn_loss_weight (float): μ (0.5).
        head_mode (str): ``'per_head'`` (HASTE) or ``'mean'``; see
            :func:`attention_cross_entropy`.
        attn_name (str): the attention submodule of each block; it must
            support ``record_attention`` (rgl's
            :class:`~rgl.models.backbones.dit_blocks.Attention`).
        **kwargs: :class:`REPAAligner`'s (``encoders``, ``depth``,
            ``loss_weight`` = λ (0.5), ``projector``, ``spatial_norm`` ...).
            The first encoder provides the attention maps.
    """

    loss_keys = ('loss_repa', 'repa_cos', 'loss_attn')

    def __init__(self,
                 attn_blocks=(4, 5, 6, 7),
                 encoder_attn_blocks=(8, 9, 10, 11),
                 attn_loss_weight=0.5,
                 head_mode='per_head',
                 attn_name='attn',
                 **kwargs):
        super().__init__(**kwargs)
        attn_blocks = [int(b) for b in attn_blocks]
        encoder_attn_blocks = [int(b) for b in encoder_attn_blocks]
        if not attn_blocks or len(attn_blocks) != len(encoder_attn_blocks):
            raise ConfigError(
                f'HASTEAligner pairs attn_blocks {attn_blocks} with '
                f'encoder_attn_blocks {encoder_attn_blocks}: they must be '
                'non-empty and of equal length')
        if head_mode not in HEAD_MODES:
            raise ConfigError(f'HASTEAligner.head_mode must be one of '
                              f'{HEAD_MODES}, got {head_mode!r}')
        if not self.encoders:
            raise ConfigError('HASTEAligner needs `encoders` (the first one '
                              'gives the attention maps; pre-extracted '
                              'features carry none)')
        self.attn_blocks = attn_blocks
        self.encoder_attn_blocks = encoder_attn_blocks
        self.attn_loss_weight = attn_loss_weight
        self.head_mode = head_mode
        self.attn_name = attn_name
        self._attn_modules = []
        self._record_handle = None
        self._kept = None  # (images, maps) of a pass shared with REG

    def bind(self, backbone):
        super().bind(backbone)
        blocks = getattr(backbone, self.blocks_name, None)
        if blocks is None:
            raise ConfigError(f'HASTEAligner needs `{self.blocks_name}` in '
                              f'{type(backbone).__name__}')
        bad = [b for b in self.attn_blocks if not 0 <= b < len(blocks)]
        if bad:
            raise ConfigError(f'HASTEAligner.attn_blocks {bad} do not exist '
                              f'in {type(backbone).__name__}, which has '
                              f'blocks 0..{len(blocks) - 1} (0-indexed)')
        modules = []
        for b in self.attn_blocks:
            attn = getattr(blocks[b], self.attn_name, None)
            if attn is None or not hasattr(attn, 'record_attention'):
                raise ConfigError(
                    f'HASTEAligner: {self.blocks_name}.{b}.{self.attn_name} '
                    f'of {type(backbone).__name__} cannot record attention '
                    'maps (it needs a `record_attention` flag, as rgl\'s '
                    'dit_blocks.Attention has)')
            modules.append(attn)
        self._attn_modules = modules
        if self._record_handle is not None:
            self._record_handle.remove()
        self._record_handle = backbone.register_forward_pre_hook(
            self._set_recording)
        return self

    def _set_recording(self, backbone, args):
        # maps only in training passes that use them: sampling, EMA
        # evaluation and the steps after the early stop keep fused SDPA
        record = (self.alignment_enabled and backbone.training
                  and self.attn_loss_weight != 0 and torch.is_grad_enabled())
        for attn in self._attn_modules:
            attn.record_attention = record
            attn.attention_logits = None

    @torch.no_grad()
    def encode_with_attention(self, images):
        """The target tokens of every encoder and the first encoder's
        attention logits of ``encoder_attn_blocks``."""
        first, maps = self.encoders[0].forward_with_attention(
            images, self.encoder_attn_blocks)
        return [first] + [enc(images) for enc in self.encoders[1:]], maps

    def teacher_pass(self):
        """The first encoder's pass with attention maps, ``images ->
        (tokens, maps)``, for a caller that runs the encoder anyway (REG
        reads its class token) to share with this aligner through
        :meth:`keep_teacher`; ``None`` when this step needs no maps."""
        if not (self.alignment_enabled and self.attn_loss_weight != 0):
            return None
        return lambda images: self.encoders[0].forward_with_attention(
            images, self.encoder_attn_blocks)

    def keep_teacher(self, images, maps):
        """Maps of :meth:`teacher_pass` on ``images``, used by the next
        :meth:`loss` on the same ``images`` with the caller's features."""
        self._kept = (images, maps)

    def student_attention(self):
        """The recorded logits of ``attn_blocks`` (patch tokens only)."""
        p = self.num_prefix_tokens
        out = []
        for b, attn in zip(self.attn_blocks, self._attn_modules):
            if attn.attention_logits is None:
                raise RuntimeError(
                    f'HASTEAligner: {self.blocks_name}.{b} recorded no '
                    'attention map (the backbone ran in eval mode or under '
                    'no_grad?)')
            logits = attn.pop_attention()
            out.append(logits[:, :, p:, p:] if p else logits)
        return out

    def loss(self, images=None, features=None):
        """``dict(loss_repa, repa_cos, loss_attn=μ·L_attn)``."""
        if self.tap is None:
            raise RuntimeError('HASTEAligner.bind(backbone) was not called')
        if not self.alignment_enabled:
            self.discard()
            return self.disabled_terms()
        if images is None:
            raise ConfigError('HASTEAligner needs the clean `images`: '
                              'attention maps are not pre-extracted')
        kept, self._kept = self._kept, None
        if features is not None and kept is not None and kept[0] is images:
            # the caller's encoder pass (REG): its features and our maps
            targets, teacher = features, kept[1]
        else:
            targets, teacher = self.encode_with_attention(images)
        losses = super().loss(features=targets)
        if self.attn_loss_weight == 0:
            losses['loss_attn'] = torch.zeros_like(losses['loss_repa'])
            return losses
        student = self.student_attention()
        ce = torch.stack([
            attention_cross_entropy(s, t.to(s.device), self.head_mode)
            for s, t in zip(student, teacher)
        ]).mean()
        losses['loss_attn'] = self.attn_loss_weight * ce
        return losses

    def discard(self):
        super().discard()
        self._kept = None
        for attn in self._attn_modules:
            attn.attention_logits = None
