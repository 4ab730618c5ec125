-- AutoProg-One (AutoProg §3.2): ViT pre-training on Fashion-MNIST whose sub-network
-- (patch grid n, depth l) at each stage is searched on an elastic supernet grown by MoGrow,
-- choosing argmin L·T^α; the last stage trains the full model. A thin wrapper over
-- vit_pretrain.lua with --schedule=autoprog by default; every vit_pretrain.lua option works:
--
--   autoprog-run scripts/autoprog_one.lua --epochs=30                      (α fitted, 2 search epochs)
--   autoprog-run scripts/autoprog_one.lua --alpha=0.5 --search_epochs=1 --space=0.4 --stages=4
--   autoprog-run scripts/autoprog_one.lua --no-recycle --operator=interpolation
--   autoprog-run scripts/autoprog_one.lua --schedule=supernet              (supernet-only baseline)
--   autoprog-run scripts/autoprog_one.lua --replay=runs/<run>/schedule.json
VIT_PRETRAIN_DEFAULTS = { schedule = "autoprog" }
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "vit_pretrain.lua")
