"""Self-attention over the positions of a feature map (SAGAN, Zhang et al. 2019): a layer with a global view.

A convolution mixes each position with its neighbours only; after a few layers a unit still
sees a patch, not the image. Zhang et al. let every position of a feature map look at every
other one, weighted by how well they match, so that D can compare far-apart parts (the two
eyes, the eyes and the mouth) in one layer. For features ``x`` ``(B, C, H, W)`` with ``N = H*W``
positions:

* keys ``f(x) = W_f x``, queries ``g(x) = W_g x`` (1x1 convs to ``C_k`` channels) and values
  ``h(x) = W_h x`` (``C`` channels);
* ``s_ij = f(x_i)^T g(x_j)``; position ``j`` attends to position ``i`` with weight
  ``beta_{j,i} = exp(s_ij) / sum_i exp(s_ij)``;
* ``o_j = v(sum_i beta_{j,i} h(x_i))`` with ``v`` another 1x1 conv, and the output
  ``y = gamma * o + x``, with ``gamma`` learned and started at 0, so the layer starts as the
  identity and the net learns how much global evidence to use.

The paper uses ``C_k = C / 8``. Chapter 05 puts it in D (``DCGANDiscriminator(self_attention=True)``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SelfAttention2d(nn.Module):
    """SAGAN's self-attention block: ``(B, C, H, W) -> (B, C, H, W)``, ``y = gamma * o + x`` (chapter 05).

    ``key_channels`` is ``C_k`` of keys and queries; the default ``max(C // 8, 1)`` is the paper's ratio.
    """

    def __init__(self, channels: int, key_channels: int | None = None) -> None:
        super().__init__()
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be an int >= 1, got {channels!r}")
        key_channels = max(channels // 8, 1) if key_channels is None else key_channels
        if not isinstance(key_channels, int) or key_channels < 1:
            raise ValueError(f"key_channels must be an int >= 1, got {key_channels!r}")
        self.channels, self.key_channels = channels, key_channels
        self.f = nn.Conv2d(channels, key_channels, 1)  # keys
        self.g = nn.Conv2d(channels, key_channels, 1)  # queries
        self.h = nn.Conv2d(channels, channels, 1)  # values
        self.v = nn.Conv2d(channels, channels, 1)  # output projection
        self.gamma = nn.Parameter(torch.zeros(()))

    def extra_repr(self) -> str:
        return f"channels={self.channels}, key_channels={self.key_channels}"

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f"SelfAttention2d expects (B, {self.channels}, H, W), got {tuple(x.shape)}")
        B, C, H, W = x.shape
        # Positions as rows, (B, N, C): a view of channels-last features, the layout D trains in.
        # A 1x1 conv is then a matmul over the channels; keys, queries and values come from one.
        rows = x.permute(0, 2, 3, 1).reshape(B, H * W, C)
        weight = torch.cat([self.f.weight, self.g.weight, self.h.weight]).flatten(1)  # (2 C_k + C, C)
        bias = torch.cat([self.f.bias, self.g.bias, self.h.bias])
        keys, queries, values = (rows @ weight.T + bias).split([self.key_channels, self.key_channels, C], dim=2)
        scores = queries @ keys.transpose(1, 2)  # (B, N_j, N_i): s_ij for query j, key i
        beta = scores.softmax(dim=-1)  # each query's weights over the keys sum to 1
        o = (beta @ values) @ self.v.weight.flatten(1).T + self.v.bias  # (B, N, C): v(sum_i beta_{j,i} h(x_i))
        o = o.view(B, H, W, C).permute(0, 3, 1, 2)  # (B, C, H, W), channels-last in memory
        if x.is_contiguous():  # keep the input's layout, so that the layers around stay on their fast paths
            o = o.contiguous()
        return self.gamma * o + x
