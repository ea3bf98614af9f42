"""CSD's evaluation metrics on CLIP embeddings.

- CLIP directional similarity (Gal et al., 2022): the cosine between the
  image edit direction E_I(edit) − E_I(source) and the text direction
  E_T(target prompt) − E_T(source prompt), averaged over the images.
- Inter-view / inter-frame consistency: the mean cosine similarity of the
  CLIP image embeddings of neighbouring particles (i, i + 1).
"""
import torch.nn.functional as F


def directional_similarity(src_img, edit_img, src_txt, tgt_txt):
    """Mean cos(E_I(edit) − E_I(src), E_T(tgt) − E_T(src)).

    Args:
        src_img (Tensor): ``(n, D)`` source image embeddings.
        edit_img (Tensor): ``(n, D)`` edited image embeddings.
        src_txt (Tensor): ``(D,)`` or ``(1, D)`` source prompt embedding.
        tgt_txt (Tensor): ``(D,)`` or ``(1, D)`` target prompt embedding.
    """
    d_img = edit_img.float() - src_img.float()
    d_txt = (tgt_txt.float() - src_txt.float()).reshape(1, -1)
    return F.cosine_similarity(d_img, d_txt.expand_as(d_img), dim=1).mean()


def neighbour_consistency(emb):
    """Mean cos(E_i, E_{i+1}) over neighbouring particles ``emb`` (n, D),
    n >= 2."""
    emb = emb.float()
    return F.cosine_similarity(emb[:-1], emb[1:], dim=1).mean()
