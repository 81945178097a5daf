"""A small Transformer encoder over UTF-8 bytes (no tokenizer to download or fit)."""

from __future__ import annotations

import torch
from torch import nn

from nethical.data.encoding import BYTE_VOCAB_SIZE, PAD_ID


class ByteTransformerEncoder(nn.Module):
    """Bytes → patch embeddings → ``nn.TransformerEncoder`` → one pooled vector per text.

    Input ids come from :func:`nethical.data.encoding.encode_text` (byte + 2, 0 = padding). Every ``patch_size``
    consecutive bytes are embedded and projected into one position (byte patching, as in byte-level models such as
    MegaByte), which cuts the sequence length — and the attention cost — by that factor while keeping the byte
    vocabulary. A learned ``[CLS]`` vector is prepended and never masked, so an empty text (all padding) still has
    one position to attend to instead of producing NaN. Padding patches are masked out of attention
    (``src_key_padding_mask``) and out of the mean pooling.

    Args:
        max_length: most bytes per text (longer inputs must be truncated by the encoder of the ids).
        d_model: width of every position.
        n_layers: encoder layers.
        n_heads: attention heads (must divide ``d_model``).
        ff_dim: width of each layer's feed-forward block.
        dropout: dropout inside the encoder.
        patch_size: bytes per position (1 = one position per byte).
    """

    def __init__(self, max_length: int, d_model: int = 64, n_layers: int = 2, n_heads: int = 4, ff_dim: int = 128,
                 dropout: float = 0.1, patch_size: int = 4) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.max_patches = -(-max_length // patch_size)
        self.byte_embed = nn.Embedding(BYTE_VOCAB_SIZE, d_model, padding_idx=PAD_ID)
        self.patch_proj = nn.Linear(patch_size * d_model, d_model)
        self.cls = nn.Parameter(torch.zeros(1, 1, d_model))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.max_patches + 1, d_model))
        nn.init.normal_(self.pos_embed, std=0.02)
        nn.init.normal_(self.cls, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, ff_dim, dropout, activation="gelu", batch_first=True,
                                           norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n, length = ids.shape
        p = self.patch_size
        pad = (-length) % p
        if pad:
            ids = nn.functional.pad(ids, (0, pad), value=PAD_ID)
        patches = ids.shape[1] // p
        if patches > self.max_patches:
            raise ValueError(f"ByteTransformerEncoder: {ids.shape[1]} bytes exceed max_length {self.max_patches * p}; "
                             "encode texts with the model's max_length.")
        emb = self.byte_embed(ids).reshape(n, patches, p * self.byte_embed.embedding_dim)
        x = self.patch_proj(emb)
        pad_mask = (ids.reshape(n, patches, p) == PAD_ID).all(dim=-1)
        x = torch.cat([self.cls.expand(n, -1, -1).to(x.dtype), x], dim=1) + self.pos_embed[:, : patches + 1].to(x.dtype)
        mask = torch.cat([torch.zeros(n, 1, dtype=torch.bool, device=ids.device), pad_mask], dim=1)
        x = self.norm(self.encoder(x, src_key_padding_mask=mask))
        keep = (~mask).unsqueeze(-1).to(x.dtype)
        return (x * keep).sum(dim=1) / keep.sum(dim=1)
