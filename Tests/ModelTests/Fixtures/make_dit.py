"""Golden fixture: a tiny DiT in facebookresearch/DiT's layout, its inputs and outputs.

The model below follows DiT's models.py (Peebles & Xie, "Scalable Diffusion Models with
Transformers"): timm's PatchEmbed, Attention and Mlp, adaLN-Zero blocks, a fixed 2-D
sin-cos `pos_embed` (an nn.Parameter with requires_grad=False) and the (p, q, c) unpatchify.

Writes dit_tiny.safetensors with the state dict under DiT's names, plus
  x [3, 2, 8, 8], t [3], y [3] (as floats; 3 is the null class) and `out` [3, 4, 8, 8]
  from model.eval(); and the same model run at other sizes, pos_embed bicubically resized
  to their patch grids as AutoProg-Zero's reference does (a low-resolution stage sees the
  positions its patches cover in the full image): x12 [3, 2, 12, 12] → out12 (6×6 grid)
  and x4 [3, 2, 4, 4] → out4 (2×2 grid).
The Swift tests load the weights into autoprog's DiT and must reproduce both outputs.
It also prints the parameter counts of the benchmark presets (hard-coded in DiTTests).
Run with a Python that has torch, timm and safetensors (e.g. /tmp/torchenv):
    /tmp/torchenv/bin/python Tests/ModelTests/Fixtures/make_dit.py
"""
import math
import os

import numpy as np
import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file
from timm.models.vision_transformer import Attention, Mlp, PatchEmbed


def modulate(x, shift, scale):
    return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1)


class TimestepEmbedder(nn.Module):
    """Sinusoidal frequencies of t (cos half first), then Linear → SiLU → Linear."""

    def __init__(self, hidden_size, frequency_embedding_size=256):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(frequency_embedding_size, hidden_size), nn.SiLU(),
                                 nn.Linear(hidden_size, hidden_size))
        self.frequency_embedding_size = frequency_embedding_size

    @staticmethod
    def timestep_embedding(t, dim, max_period=10000):
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
        args = t[:, None].float() * freqs[None]
        embedding = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
        if dim % 2:
            embedding = torch.cat([embedding, torch.zeros_like(embedding[:, :1])], dim=-1)
        return embedding

    def forward(self, t):
        return self.mlp(self.timestep_embedding(t, self.frequency_embedding_size))


class LabelEmbedder(nn.Module):
    """Class embeddings with one extra row (the null class) when labels are dropped for CFG."""

    def __init__(self, num_classes, hidden_size, dropout_prob):
        super().__init__()
        self.embedding_table = nn.Embedding(num_classes + int(dropout_prob > 0), hidden_size)
        self.num_classes = num_classes
        self.dropout_prob = dropout_prob

    def forward(self, labels, train):
        if train and self.dropout_prob > 0:
            drop = torch.rand(labels.shape[0]) < self.dropout_prob
            labels = torch.where(drop, self.num_classes, labels)
        return self.embedding_table(labels)


class DiTBlock(nn.Module):
    def __init__(self, hidden_size, num_heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(in_features=hidden_size, hidden_features=int(hidden_size * mlp_ratio),
                       act_layer=lambda: nn.GELU(approximate="tanh"), drop=0)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x, c):
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = self.adaLN_modulation(c).chunk(6, dim=1)
        x = x + gate_msa.unsqueeze(1) * self.attn(modulate(self.norm1(x), shift_msa, scale_msa))
        return x + gate_mlp.unsqueeze(1) * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class FinalLayer(nn.Module):
    def __init__(self, hidden_size, patch_size, out_channels):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x, c):
        shift, scale = self.adaLN_modulation(c).chunk(2, dim=1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


def sincos_1d(dim, pos):
    omega = np.arange(dim // 2, dtype=np.float64) / (dim / 2.0)
    omega = 1.0 / 10000 ** omega
    out = np.einsum("m,d->md", pos.reshape(-1), omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=1)


def sincos_2d(dim, grid_size):
    """DiT's get_2d_sincos_pos_embed: the first half encodes the column (meshgrid puts w first)."""
    grid = np.meshgrid(np.arange(grid_size, dtype=np.float32), np.arange(grid_size, dtype=np.float32))
    grid = np.stack(grid, axis=0).reshape([2, 1, grid_size, grid_size])
    return np.concatenate([sincos_1d(dim // 2, grid[0]), sincos_1d(dim // 2, grid[1])], axis=1)


class DiT(nn.Module):
    def __init__(self, input_size, patch_size, in_channels, hidden_size, depth, num_heads, mlp_ratio=4.0,
                 class_dropout_prob=0.1, num_classes=1000, learn_sigma=True):
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = in_channels * 2 if learn_sigma else in_channels
        self.patch_size = patch_size
        self.x_embedder = PatchEmbed(input_size, patch_size, in_channels, hidden_size, bias=True)
        self.t_embedder = TimestepEmbedder(hidden_size)
        self.y_embedder = LabelEmbedder(num_classes, hidden_size, class_dropout_prob)
        self.pos_embed = nn.Parameter(torch.zeros(1, self.x_embedder.num_patches, hidden_size), requires_grad=False)
        self.blocks = nn.ModuleList([DiTBlock(hidden_size, num_heads, mlp_ratio) for _ in range(depth)])
        self.final_layer = FinalLayer(hidden_size, patch_size, self.out_channels)
        self.initialize_weights()

    def initialize_weights(self):
        def basic_init(module):
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.constant_(module.bias, 0)
        self.apply(basic_init)
        grid = int(self.x_embedder.num_patches ** 0.5)
        self.pos_embed.data.copy_(torch.from_numpy(sincos_2d(self.pos_embed.shape[-1], grid)).float().unsqueeze(0))
        w = self.x_embedder.proj.weight.data
        nn.init.xavier_uniform_(w.view([w.shape[0], -1]))
        nn.init.constant_(self.x_embedder.proj.bias, 0)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for block in self.blocks:
            nn.init.constant_(block.adaLN_modulation[-1].weight, 0)
            nn.init.constant_(block.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].weight, 0)
        nn.init.constant_(self.final_layer.adaLN_modulation[-1].bias, 0)
        nn.init.constant_(self.final_layer.linear.weight, 0)
        nn.init.constant_(self.final_layer.linear.bias, 0)

    def unpatchify(self, x, h, w):
        c, p = self.out_channels, self.patch_size
        x = x.reshape(x.shape[0], h, w, p, p, c)
        x = torch.einsum("nhwpqc->nchpwq", x)
        return x.reshape(x.shape[0], c, h * p, w * p)

    def forward(self, x, t, y, pos_embed=None):
        h, w = x.shape[2] // self.patch_size, x.shape[3] // self.patch_size
        x = self.x_embedder(x) + (self.pos_embed if pos_embed is None else pos_embed)
        c = self.t_embedder(t) + self.y_embedder(y, self.training)
        for block in self.blocks:
            x = block(x, c)
        return self.unpatchify(self.final_layer(x, c), h, w)


def resized_pos_embed(pos_embed, grid):
    """pos_embed [1, n², D] as a [1, D, n, n] image, resized (bicubic, half-pixel centres)."""
    n, d = int(math.isqrt(pos_embed.shape[1])), pos_embed.shape[2]
    image = pos_embed.reshape(1, n, n, d).permute(0, 3, 1, 2)
    resized = F.interpolate(image, size=(grid, grid), mode="bicubic", align_corners=False)
    return resized.permute(0, 2, 3, 1).reshape(1, grid * grid, d)


def presets():
    """Parameter counts (all of model.parameters(), pos_embed included, as in PyTorch)."""
    for name, (dim, depth, heads, patch) in {"dit-s4": (192, 6, 3, 4), "dit-s2": (192, 6, 3, 2),
                                             "dit-b4": (384, 12, 6, 4), "dit-b2": (384, 12, 6, 2)}.items():
        m = DiT(28, patch, 1, dim, depth, heads, num_classes=10)
        total = sum(p.numel() for p in m.parameters())
        trainable = sum(p.numel() for p in m.parameters() if p.requires_grad)
        print(f"{name}: {total} parameters ({trainable} trainable) at 28x28x1, 10 classes, learn_sigma")


def main():
    torch.manual_seed(0)
    model = DiT(input_size=8, patch_size=2, in_channels=2, hidden_size=24, depth=2, num_heads=2, num_classes=3,
                class_dropout_prob=0.1, learn_sigma=True)
    # adaLN-Zero makes the fresh model's output exactly 0: perturb every trainable parameter
    # so that each one matters. pos_embed stays DiT's fixed sin-cos table.
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(torch.randn_like(p) * 0.1)
    model.eval()
    x = torch.randn(3, 2, 8, 8)
    t = torch.tensor([0.0, 17.0, 999.0])
    y = torch.tensor([0, 2, 3])          # 3 = the null class (classifier-free guidance)
    x12 = torch.randn(3, 2, 12, 12)
    x4 = torch.randn(3, 2, 4, 4)
    model.x_embedder.strict_img_size = False
    with torch.no_grad():
        out = model(x, t, y)
        out12 = model(x12, t, y, pos_embed=resized_pos_embed(model.pos_embed, 6))
        out4 = model(x4, t, y, pos_embed=resized_pos_embed(model.pos_embed, 2))
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({"x": x, "t": t, "y": y.float(), "out": out, "x12": x12, "out12": out12, "x4": x4, "out4": out4})
    here = os.path.dirname(os.path.abspath(__file__))
    save_file(tensors, os.path.join(here, "dit_tiny.safetensors"),
              metadata={"generator": "make_dit.py", "timm": timm.__version__, "torch": torch.__version__,
                        "config": "image=8 patch=2 channels=2 dim=24 depth=2 heads=2 classes=3 "
                                  "class_dropout=0.1 learn_sigma=true"})
    print("wrote", len(tensors), "tensors:", ", ".join(tensors))
    presets()


if __name__ == "__main__":
    main()
