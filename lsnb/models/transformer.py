"""The translation model of the paper's sec. 3: an encoder-decoder Transformer (Vaswani et al. 2017).

Written out plainly, as in nanoGPT and The Annotated Transformer: :class:`MultiHeadAttention`
(sec. 3.2.2), pre-norm :class:`EncoderLayer` and :class:`DecoderLayer` (each sub-layer is
``x + Dropout(Sublayer(LayerNorm(x)))``, and each stack ends in a LayerNorm), and
:class:`Transformer`, which ties the embeddings (sec. 3.4) and adds sinusoidal positions
(sec. 3.5). Putting the LayerNorm before each sub-layer rather than after it (the paper's
post-norm) lets the model train without warm-up tricks. The attention modules take an
optional cache of keys and values, so decoding one position at a time
(:meth:`Transformer.step`) runs the same layers as training does.

Parameter names, shapes and initialisation are those of ``torch.nn.Transformer(norm_first=True,
batch_first=True)``, which the model was built on before: runs stored by that version load, and
a seed gives the same initial weights.
"""
from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn

from ..data.vocab import PAD


def sinusoids(length: int, d: int) -> torch.Tensor:
    """Sec. 3.5: ``PE(pos, 2i) = sin(pos / 10000^(2i/d))``, ``PE(pos, 2i+1) = cos(...)``."""
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    angle = pos * 10000.0 ** (-torch.arange(0, d, 2, dtype=torch.float64) / d)
    return torch.stack([angle.sin(), angle.cos()], -1).flatten(1).float()


class MultiHeadAttention(nn.Module):
    """Sec. 3.2.2: ``Concat(head_1, ..., head_h) W^O`` with ``head_i = Attention(Q W_i^Q, K W_i^K, V W_i^V)``
    and ``Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V``, d_k = d_model / h.

    The rows of ``in_proj_weight`` (3 d_model, d_model) are W^Q, W^K and W^V of all heads
    (``in_proj_bias`` likewise); ``out_proj`` is W^O. ``forward(x, source, mask)`` attends from
    the positions of ``x`` (B, T, d) to those of ``source`` (B, S, d), or of ``x`` itself when
    ``source`` is None (self-attention); ``mask``, broadcast to (B, h, T, S), is True where a
    query may look. In training, ``dropout`` drops attention weights, as nn.Transformer does
    (sec. 5.4 names only the sub-layer outputs).

    With a ``cache`` dict, self-attention appends the keys and values of ``x`` to those of the
    earlier positions kept there, and cross-attention projects ``source`` once and keeps it.
    """

    def __init__(self, d_model: int, heads: int, dropout: float):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * d_model, d_model))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * d_model))
        self.out_proj = nn.Linear(d_model, d_model)  # its default init draws first, as in nn.MultiheadAttention
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def _split(self, z: torch.Tensor) -> torch.Tensor:
        """(S, B, d) -> (B, h, S, d / h), through (S, B h, d / h) as in nn.MultiheadAttention."""
        s, b, _ = z.shape
        return z.reshape(s, b * self.heads, -1).transpose(0, 1).unflatten(0, (b, self.heads))

    def forward(self, x: torch.Tensor, source: torch.Tensor | None = None, mask: torch.Tensor | None = None,
                cache: dict | None = None) -> torch.Tensor:
        # Time-major inside, (T, B, d), as nn.MultiheadAttention computes: the same rounding, and the same
        # dropout masks (drawn in memory order), so a seed trains the same model as with nn.Transformer.
        x = x.transpose(0, 1)
        w, b, d = self.in_proj_weight, self.in_proj_bias, x.shape[-1]
        if source is None:  # self-attention: queries, keys and values all from x
            q, k, v = F.linear(x, w, b).chunk(3, -1)
            k, v = self._split(k), self._split(v)
            if cache:  # the earlier positions' keys and values come first
                k, v = torch.cat([cache["k"], k], 2), torch.cat([cache["v"], v], 2)
        else:
            q = F.linear(x, w[:d], b[:d])
            if cache:  # the source, projected at the first step
                k, v = cache["k"], cache["v"]
            else:
                k, v = (self._split(z) for z in F.linear(source.transpose(0, 1), w[d:], b[d:]).chunk(2, -1))
        if cache is not None:
            cache["k"], cache["v"] = k, v
        a = F.scaled_dot_product_attention(self._split(q), k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out_proj(a.permute(2, 0, 1, 3).flatten(2)).transpose(0, 1)  # (B, h, T, d/h) -> (B, T, d)


def feed_forward(layer: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Sec. 3.3: ``FFN(x) = max(0, x W_1 + b_1) W_2 + b_2`` (``layer.linear1``, ``layer.linear2``),
    with dropout on the hidden units as in nn.Transformer."""
    return layer.linear2(layer.dropout(F.relu(layer.linear1(x))))


class EncoderLayer(nn.Module):
    """Pre-norm encoder layer: ``x + Dropout(SelfAttn(LN(x)))``, then ``x + Dropout(FFN(LN(x)))`` (sec. 3.1, 5.4)."""

    def __init__(self, d_model: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, heads, dropout)
        self.linear1, self.linear2 = nn.Linear(d_model, ffn), nn.Linear(ffn, d_model)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.dropout(self.self_attn(self.norm1(x), mask=mask))
        return x + self.dropout(feed_forward(self, self.norm2(x)))


class DecoderLayer(nn.Module):
    """Pre-norm decoder layer: ``x + Dropout(SelfAttn(LN(x)))``, ``x + Dropout(CrossAttn(LN(x), memory))``,
    ``x + Dropout(FFN(LN(x)))`` (sec. 3.1, 5.4). ``cache``: ``{"self": {}, "source": {}}`` for
    :class:`MultiHeadAttention`'s caches, or None."""

    def __init__(self, d_model: int, heads: int, ffn: int, dropout: float):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, heads, dropout)
        self.multihead_attn = MultiHeadAttention(d_model, heads, dropout)
        self.linear1, self.linear2 = nn.Linear(d_model, ffn), nn.Linear(ffn, d_model)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d_model), nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None, memory_mask: torch.Tensor,
                cache: dict | None = None) -> torch.Tensor:
        own, source = (None, None) if cache is None else (cache["self"], cache["source"])
        x = x + self.dropout(self.self_attn(self.norm1(x), mask=mask, cache=own))
        x = x + self.dropout(self.multihead_attn(self.norm2(x), memory, memory_mask, cache=source))
        return x + self.dropout(feed_forward(self, self.norm3(x)))


def _copies(layer: nn.Module, n: int) -> nn.ModuleList:
    """n deep copies of one layer, as nn.Transformer makes them, so that a seed gives the same weights as
    before. All layers start with the same FFN biases (the weights are redrawn by the Xavier pass)."""
    return nn.ModuleList(copy.deepcopy(layer) for _ in range(n))


class Encoder(nn.Module):
    """n encoder layers and a final LayerNorm (pre-norm leaves the last layer's output unnormalised)."""

    def __init__(self, layer: EncoderLayer, n: int, d_model: int):
        super().__init__()
        self.layers, self.norm = _copies(layer, n), nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


class Decoder(nn.Module):
    """n decoder layers and a final LayerNorm; ``caches``, one per layer, for incremental decoding."""

    def __init__(self, layer: DecoderLayer, n: int, d_model: int):
        super().__init__()
        self.layers, self.norm = _copies(layer, n), nn.LayerNorm(d_model)

    def forward(self, x: torch.Tensor, memory: torch.Tensor, mask: torch.Tensor | None, memory_mask: torch.Tensor,
                caches: list | None = None) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x, memory, mask, memory_mask, None if caches is None else caches[i])
        return self.norm(x)


def _unpadded(ids: torch.Tensor) -> torch.Tensor:
    """The attention mask (B, 1, 1, L) that lets every query look at the non-PAD positions of ``ids`` (B, L)."""
    return (ids != PAD)[:, None, None, :]


class Transformer(nn.Module):
    """Encoder-decoder Transformer (Vaswani et al. 2017) for translation, with pre-norm layers.

    Input ``x`` (B, 2, L): row 0 the source ids, row 1 the target ids ``BOS ... EOS``, both
    right-padded with PAD. ``forward(x)`` returns the logits (B, L-1, V) for the next target
    token given the correct prefix ``x[:, 1, :-1]`` (teacher forcing); ``features(x)`` the
    decoder states (B, L-1, d) and ``head`` the output projection. One embedding matrix is
    shared by source, target and ``head`` (sec. 3.4; the vocabulary is joint BPE), multiplied
    by sqrt(d_model) on input; sinusoidal positions (sec. 3.5); dropout on their sum and on
    every sub-layer's output (sec. 5.4), and on attention weights and FFN hidden units.

    For decoding, :meth:`encode` runs the encoder once and :meth:`step` the decoder one
    position at a time with a cache of keys and values (:meth:`start`, :meth:`reorder`).
    """

    def __init__(self, in_shape: tuple, num_classes: int, d_model: int = 512, heads: int = 8, layers: int = 6,
                 ffn: int = 2048, dropout: float = 0.1, max_positions: int = 1024):
        super().__init__()
        if d_model % heads or d_model % 2:
            raise ValueError(f"d_model={d_model} must be even and a multiple of heads={heads}")
        self.d_model = d_model
        self.embed = nn.Embedding(num_classes, d_model)
        nn.init.normal_(self.embed.weight, std=d_model ** -0.5)  # unit variance after the sqrt(d_model) scale
        self.head = nn.Linear(d_model, num_classes, bias=False)
        self.head.weight = self.embed.weight  # tied: the rows are both the input vectors and the templates w_k
        self.transformer = nn.ModuleDict({  # named as in nn.Transformer, so stored state dicts load
            "encoder": Encoder(EncoderLayer(d_model, heads, ffn, dropout), layers, d_model),
            "decoder": Decoder(DecoderLayer(d_model, heads, ffn, dropout), layers, d_model)})
        for p in self.transformer.parameters():  # nn.Transformer's initialisation, in its order
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("positions", sinusoids(max_positions, d_model), persistent=False)

    def _embed(self, ids: torch.Tensor, offset: int = 0) -> torch.Tensor:
        end = offset + ids.shape[1]
        if end > len(self.positions):
            raise ValueError(f"position {end} is beyond max_positions={len(self.positions)}")
        return self.dropout(self.embed(ids) * math.sqrt(self.d_model) + self.positions[offset:end])

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder states (B, S, d) of source ids (B, S), and the source padding mask (True at PAD)."""
        return self.transformer.encoder(self._embed(src), _unpadded(src)), src == PAD

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src_pad: torch.Tensor) -> torch.Tensor:
        """Decoder states (B, T, d) for target inputs (B, T): position t sees the non-PAD ones of
        ``tgt[:, :t+1]`` and of the source."""
        causal = torch.ones(tgt.shape[1], tgt.shape[1], dtype=torch.bool, device=tgt.device).tril()
        return self.transformer.decoder(self._embed(tgt), memory, causal & _unpadded(tgt), ~src_pad[:, None, None, :])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(x[:, 1, :-1], *self.encode(x[:, 0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @staticmethod
    def decays(name: str) -> bool:
        return False  # Vaswani et al. use no weight decay

    # -- incremental decoding: the same layers as decode(), one position at a time

    def start(self, memory: torch.Tensor, src_pad: torch.Tensor) -> dict:
        """A decoding cache for encoder states (B, S, d): the source and, per decoder layer, the keys and
        values of the prefix so far (none yet) and of the source (projected at the first step)."""
        return {"length": 0, "memory": memory, "mask": ~src_pad[:, None, None, :],
                "layers": [{"self": {}, "source": {}} for _ in self.transformer.decoder.layers]}

    def step(self, tokens: torch.Tensor, cache: dict) -> torch.Tensor:
        """Logits (B, V) for the token after ``tokens`` (B,), the newest of each prefix; updates ``cache``.

        The new position attends to the cached keys and values of the earlier ones, so it needs
        no mask. Evaluation mode only (no dropout).
        """
        if self.training:
            raise RuntimeError("step() is for decoding: call model.eval() first")
        x = self._embed(tokens[:, None], offset=cache["length"])
        x = self.transformer.decoder(x, cache["memory"], None, cache["mask"], cache["layers"])
        cache["length"] += 1
        return self.head(x[:, 0])

    @staticmethod
    def reorder(cache: dict, rows: torch.Tensor) -> None:
        """Keep the prefixes ``rows`` (beam search's survivors). Only the target side is reordered:
        each row must come from a row with the same source (the beams of one sentence)."""
        for layer in cache["layers"]:
            layer["self"] = {name: kv[rows] for name, kv in layer["self"].items()}
