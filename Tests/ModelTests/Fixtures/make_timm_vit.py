"""Golden fixture: a tiny timm VisionTransformer, its input and its logits.

Writes timm_vit_tiny.safetensors with the model's state dict under its timm names,
plus `input` [2, 3, 16, 16] and `logits` [2, 5] from model.eval(). The Swift test loads
the weights into autoprog's VisionTransformer and must reproduce the logits.
Run with a Python that has torch, timm and safetensors (e.g. /tmp/torchenv):
    /tmp/torchenv/bin/python Tests/ModelTests/Fixtures/make_timm_vit.py
"""
import os

import timm
import torch
from safetensors.torch import save_file

torch.manual_seed(0)
model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=16, patch_size=4, in_chans=3,
                          num_classes=5, embed_dim=24, depth=2, num_heads=2).eval()
# timm initialises cls_token ~1e-6 and biases to 0; randomise everything so every
# parameter matters to the output.
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.randn_like(p) * 0.2)
x = torch.randn(2, 3, 16, 16)
with torch.no_grad():
    logits = model(x)
tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
tensors["input"] = x
tensors["logits"] = logits
here = os.path.dirname(os.path.abspath(__file__))
save_file(tensors, os.path.join(here, "timm_vit_tiny.safetensors"),
          metadata={"generator": "make_timm_vit.py", "timm": timm.__version__, "torch": torch.__version__,
                    "config": "img=16 patch=4 chans=3 classes=5 dim=24 depth=2 heads=2"})
print("wrote", len(tensors), "tensors")
