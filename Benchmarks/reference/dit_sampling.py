"""PyTorch reference for `autoprog-bench dit-sample`: DDIM (η = 0, "ddim50" respacing of the
linear 1000-step schedule) with classifier-free guidance (scale 4, the conditional and null
halves in one batch of 128) sampling 64 class-conditional 28×28×1 images from a DiT in
facebookresearch/DiT's layout (the model of Tests/ModelTests/Fixtures/make_dit.py), as
DiT's sample.py + diffusion/gaussian_diffusion.py do it. Prints one JSON line per model.

    /tmp/torchenv/bin/python Benchmarks/reference/dit_sampling.py [--threads 2] [--only dit-s4,dit-s2]
"""
import argparse, json, os, sys, time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../Tests/ModelTests/Fixtures"))
from make_dit import DiT  # noqa: E402

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--only", default="dit-s4")
args = p.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(0)

betas = np.linspace(1e-4, 0.02, 1000, dtype=np.float64)
alphas_cumprod = np.cumprod(1 - betas)
kept = list(range(0, 1000, 20))              # space_timesteps(1000, "ddim50")


def sample(model, n=64, scale=4.0):
    y = torch.arange(n) % 10
    y_null = torch.full((n,), 10)
    x = torch.randn(n, 1, 28, 28)
    ac = alphas_cumprod[kept]
    for i in reversed(range(len(kept))):
        t = torch.full((2 * n,), float(kept[i]))
        out = model(torch.cat([x, x]), t, torch.cat([y, y_null]))
        eps_c, eps_u = out[:n, :1], out[n:, :1]
        eps = eps_u + scale * (eps_c - eps_u)
        a, a_prev = ac[i], (ac[i - 1] if i > 0 else 1.0)
        x0 = ((x - np.sqrt(1 - a) * eps) / np.sqrt(a)).clamp(-1, 1)
        eps = (x - np.sqrt(a) * x0) / np.sqrt(1 - a)
        x = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps
    return x


presets = {"dit-s4": (192, 6, 3, 4), "dit-s2": (192, 6, 3, 2)}
for name in args.only.split(","):
    dim, depth, heads, patch = presets[name]
    model = DiT(28, patch, 1, dim, depth, heads, num_classes=10).eval()
    with torch.no_grad():
        model(torch.randn(128, 1, 28, 28), torch.zeros(128), torch.arange(128) % 11)   # warm-up
        start = time.perf_counter()
        x = sample(model, n=64)
        seconds = time.perf_counter() - start
    assert x.shape == (64, 1, 28, 28)
    print(json.dumps({"name": name + "-ddim50-cfg", "images": 64, "steps": 50, "seconds": round(seconds, 3),
                      "imgs_per_s": round(64 / seconds, 2), "threads": args.threads}), flush=True)
