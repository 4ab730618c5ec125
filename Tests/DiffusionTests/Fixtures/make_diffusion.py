"""Writes diffusion_reference.json: golden values for Tests/DiffusionTests.

Run with the project's fixture environment:  /tmp/torchenv/bin/python make_diffusion.py

The values come from a from-scratch transcription of the formulas of openai/improved-diffusion
(as used by facebookresearch/DiT's `diffusion/` package): numpy float64 for the schedules, torch
float32 for the per-tensor maths, as the reference computes them. The script cross-checks its
transcription against diffusers (DDPMScheduler's schedules, DDIMScheduler's steps) and stops if
the two disagree, so the fixture rests on two independent implementations.
"""
import json
import math
import os

import numpy as np
import torch

# ---------------------------------------------------------------- schedules (float64, numpy)

def named_betas(name, steps):
    if name == "linear":
        scale = 1000 / steps
        return np.linspace(scale * 0.0001, scale * 0.02, steps, dtype=np.float64)
    if name == "cosine":
        f = lambda t: math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
        return np.array([min(1 - f((i + 1) / steps) / f(i / steps), 0.999) for i in range(steps)])
    raise ValueError(name)


def derived(betas):
    a = np.cumprod(1.0 - betas)
    a_prev = np.append(1.0, a[:-1])
    post_var = betas * (1.0 - a_prev) / (1.0 - a)
    return {
        "betas": betas,
        "alphas_cumprod": a,
        "alphas_cumprod_prev": a_prev,
        "alphas_cumprod_next": np.append(a[1:], 0.0),
        "sqrt_alphas_cumprod": np.sqrt(a),
        "sqrt_one_minus_alphas_cumprod": np.sqrt(1.0 - a),
        "log_one_minus_alphas_cumprod": np.log(1.0 - a),
        "sqrt_recip_alphas_cumprod": np.sqrt(1.0 / a),
        "sqrt_recipm1_alphas_cumprod": np.sqrt(1.0 / a - 1),
        "posterior_variance": post_var,
        "posterior_log_variance_clipped": np.log(np.append(post_var[1], post_var[1:])),
        "posterior_mean_coef1": betas * np.sqrt(a_prev) / (1.0 - a),
        "posterior_mean_coef2": (1.0 - a_prev) * np.sqrt(1.0 - betas) / (1.0 - a),
    }


def space_timesteps(total, spec):
    if spec.startswith("ddim"):
        desired = int(spec[4:])
        for stride in range(1, total):
            if len(range(0, total, stride)) == desired:
                return sorted(set(range(0, total, stride)))
        raise ValueError(spec)
    counts = [int(x) for x in spec.split(",")]
    size_per, extra = total // len(counts), total % len(counts)
    start, steps = 0, []
    for i, count in enumerate(counts):
        size = size_per + (1 if i < extra else 0)
        assert size >= count
        stride = 1 if count <= 1 else (size - 1) / (count - 1)
        cur = 0.0
        for _ in range(count):
            steps.append(start + round(cur))
            cur += stride
        start += size
    return sorted(set(steps))


def respaced_betas(alphas_cumprod, kept):
    last, out = 1.0, []
    for i, a in enumerate(alphas_cumprod):
        if i in kept:
            out.append(1 - a / last)
            last = a
    return np.array(out)

# ---------------------------------------------------------------- tensor maths (float32, torch)

def extract(arr, t, ndim):
    return torch.from_numpy(arr)[t].float().view(-1, *([1] * (ndim - 1)))


def normal_kl(m1, lv1, m2, lv2):
    return 0.5 * (-1.0 + lv2 - lv1 + torch.exp(lv1 - lv2) + (m1 - m2) ** 2 * torch.exp(-lv2))


def approx_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))


def discretized_ll(x, means, log_scales):
    c = x - means
    inv = torch.exp(-log_scales)
    cdf_plus = approx_cdf(inv * (c + 1.0 / 255.0))
    cdf_min = approx_cdf(inv * (c - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_1m = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    delta = cdf_plus - cdf_min
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_1m, torch.log(delta.clamp(min=1e-12))))


def p_mean_variance(s, out, x, t, clip, var_type):
    C = x.shape[1]
    if var_type == "learned_range":
        eps, v = torch.split(out, C, dim=1)
        min_log = extract(s["posterior_log_variance_clipped"], t, x.ndim)
        max_log = extract(np.log(s["betas"]), t, x.ndim)
        frac = (v + 1) / 2
        log_var = frac * max_log + (1 - frac) * min_log
    else:
        eps = out[:, :C]
        large = np.append(s["posterior_variance"][1], s["betas"][1:])
        table = np.log(large) if var_type == "fixed_large" else s["posterior_log_variance_clipped"]
        log_var = extract(table, t, x.ndim).expand_as(x)
    x0 = extract(s["sqrt_recip_alphas_cumprod"], t, x.ndim) * x - extract(s["sqrt_recipm1_alphas_cumprod"], t, x.ndim) * eps
    if clip:
        x0 = x0.clamp(-1, 1)
    mean = extract(s["posterior_mean_coef1"], t, x.ndim) * x0 + extract(s["posterior_mean_coef2"], t, x.ndim) * x
    return mean, log_var, x0


def training_terms(s, x0, noise, t, out):
    """DiT's LossType.MSE with learned sigma: mse + vb (vb unscaled), per image."""
    C = x0.shape[1]
    xt = extract(s["sqrt_alphas_cumprod"], t, 4) * x0 + extract(s["sqrt_one_minus_alphas_cumprod"], t, 4) * noise
    eps, v = torch.split(out, C, dim=1)
    frozen = torch.cat([eps.detach(), v], dim=1)
    true_mean = extract(s["posterior_mean_coef1"], t, 4) * x0 + extract(s["posterior_mean_coef2"], t, 4) * xt
    true_lv = extract(s["posterior_log_variance_clipped"], t, 4)
    mean, log_var, _ = p_mean_variance(s, frozen, xt, t, False, "learned_range")
    kl = normal_kl(true_mean, true_lv, mean, log_var).mean(dim=[1, 2, 3]) / np.log(2.0)
    nll = -discretized_ll(x0, mean, 0.5 * log_var).mean(dim=[1, 2, 3]) / np.log(2.0)
    vb = torch.where(t == 0, nll, kl)
    mse = ((noise - eps) ** 2).mean(dim=[1, 2, 3])
    return xt, mse, vb, (mse + vb).mean()


def fixed_epsilon(x, t_original):
    """The toy ε-predictor the Swift test re-implements: depends on x and on the ORIGINAL step."""
    return 0.5 * torch.tanh(x) + 0.1 * (t_original.float() / 1000.0).view(-1, 1, 1, 1)


def ddim_loop(s, kept, xT, clip, eta=0.0):
    """ADM's ddim_sample_loop over a respaced process (eta = 0: no noise drawn)."""
    sp = derived(respaced_betas(s["alphas_cumprod"], set(kept)))
    x = xT.clone()
    for i in reversed(range(len(kept))):
        t = torch.full((x.shape[0],), i, dtype=torch.long)
        eps_model = fixed_epsilon(x, torch.tensor(kept)[t])
        _, _, x0 = p_mean_variance(sp, eps_model, x, t, clip, "fixed_large")
        eps = (extract(sp["sqrt_recip_alphas_cumprod"], t, 4) * x - x0) / extract(sp["sqrt_recipm1_alphas_cumprod"], t, 4)
        ab = extract(sp["alphas_cumprod"], t, 4)
        ab_prev = extract(sp["alphas_cumprod_prev"], t, 4)
        sigma = eta * torch.sqrt((1 - ab_prev) / (1 - ab)) * torch.sqrt(1 - ab / ab_prev)
        x = x0 * torch.sqrt(ab_prev) + torch.sqrt(1 - ab_prev - sigma ** 2) * eps
    return x


def diffusers_ddim(xT, steps, clip):
    from diffusers import DDIMScheduler
    sched = DDIMScheduler(num_train_timesteps=1000, beta_schedule="linear", beta_start=0.0001, beta_end=0.02,
                          clip_sample=clip, set_alpha_to_one=True, steps_offset=0, timestep_spacing="leading")
    sched.set_timesteps(steps)
    x = xT.clone()
    for t in sched.timesteps:
        eps = fixed_epsilon(x, torch.full((x.shape[0],), int(t)))
        x = sched.step(eps, int(t), x, eta=0.0, use_clipped_model_output=True).prev_sample
    return x

# ---------------------------------------------------------------- fixture


def main():
    torch.manual_seed(0)
    np.random.seed(0)
    ref = {}
    probe = [0, 1, 2, 10, 100, 250, 500, 998, 999]
    ref["schedules"] = {}
    for name in ["linear", "cosine"]:
        s = derived(named_betas(name, 1000))
        ref["schedules"][name] = {"steps": 1000, "indices": probe, **{k: [float(v[i]) for i in probe] for k, v in s.items()}}
    ref["schedules"]["linear_100"] = {"steps": 100, "indices": [0, 1, 50, 99],
                                      "betas": [float(named_betas("linear", 100)[i]) for i in [0, 1, 50, 99]]}

    # Cross-check the schedules against diffusers (float32 there).
    from diffusers import DDPMScheduler
    for name, dname in [("linear", "linear"), ("cosine", "squaredcos_cap_v2")]:
        d = DDPMScheduler(num_train_timesteps=1000, beta_schedule=dname)
        ours = derived(named_betas(name, 1000))
        assert np.allclose(d.betas.double().numpy(), ours["betas"], rtol=1e-5, atol=1e-8), name
        assert np.allclose(d.alphas_cumprod.double().numpy(), ours["alphas_cumprod"], rtol=1e-4, atol=1e-7), name

    specs = [("ddim50", 1000), ("ddim25", 1000), ("ddim1000", 1000), ("50", 1000), ("250", 1000), ("10,20", 1000),
             ("1,2,3", 1000), ("3,0,5", 100), ("7", 100), ("33", 100), ("ddim4", 10), ("100", 100)]
    ref["respacing"] = [{"spec": sp, "total": n, "steps": space_timesteps(n, sp)} for sp, n in specs]

    linear = derived(named_betas("linear", 1000))
    kept = space_timesteps(1000, "50")
    ref["respaced_linear_50"] = {"timestep_map": kept,
                                 "betas": [float(b) for b in respaced_betas(linear["alphas_cumprod"], set(kept))]}

    # Training-loss terms of a learned-sigma model with a fixed output.
    B, C, H, W = 4, 2, 3, 3
    levels = torch.randint(0, 256, (B, C, H, W)).float()
    levels[0, 0, 0, 0], levels[1, 1, 2, 2], levels[2, 0, 1, 1], levels[3, 1, 0, 2] = 0, 255, 0, 255
    x0 = levels / 127.5 - 1
    noise = torch.randn(B, C, H, W)
    t = torch.tensor([0, 1, 500, 999])
    out = torch.cat([torch.randn(B, C, H, W), torch.rand(B, C, H, W) * 2 - 1], dim=1)
    xt, mse, vb, loss = training_terms(linear, x0, noise, t, out)
    mean, log_var, pred_x0 = p_mean_variance(linear, out, xt, t, True, "learned_range")
    ref["loss"] = {"shape": [B, C, H, W], "t": t.tolist(), "x0": x0.flatten().tolist(), "noise": noise.flatten().tolist(),
                   "model_output": out.flatten().tolist(), "xt": xt.flatten().tolist(), "mse": mse.tolist(),
                   "vb": vb.tolist(), "loss": float(loss),
                   "clipped_mean": mean.flatten().tolist(), "log_variance": log_var.flatten().tolist(),
                   "clipped_pred_x0": pred_x0.flatten().tolist()}
    for var_type in ["fixed_large", "fixed_small"]:
        m, lv, _ = p_mean_variance(linear, out[:, :C], xt, t, False, var_type)
        ref["loss"][var_type] = {"mean": m.flatten().tolist(), "log_variance": lv[:, 0, 0, 0].tolist()}

    # DDIM (eta = 0) over "ddim10" with the toy ε, from a fixed x_T.
    xT = torch.randn(3, 2, 4, 4) * 1.0
    ddim = {"shape": list(xT.shape), "xT": xT.flatten().tolist()}
    for clip in [False, True]:
        kept10 = space_timesteps(1000, "ddim10")
        ours = ddim_loop(linear, kept10, xT, clip)
        theirs = diffusers_ddim(xT, 10, clip)
        err = (ours - theirs).abs().max().item()
        assert err < 1e-4, f"transcription vs diffusers DDIM differ by {err} (clip={clip})"
        ddim["clip" if clip else "noclip"] = ours.flatten().tolist()
        ddim[("clip" if clip else "noclip") + "_diffusers_max_error"] = err
    ref["ddim10"] = ddim

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "diffusion_reference.json")
    with open(path, "w") as f:
        json.dump(ref, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
