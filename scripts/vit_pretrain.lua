-- ViT pre-training on Fashion-MNIST, with or without progressive learning (AutoProg):
-- Original (the full model throughout), Prog (uniform growth through the growth space
-- Ω(s₁)), ProgStack (¼ depth stacked twice, 1:2:5), a manual list, AutoProg-One (each
-- stage's sub-network searched on an elastic supernet, §3.2), the supernet-only baseline,
-- or the replay of a searched schedule.json.
--
--   autoprog-run scripts/vit_pretrain.lua --schedule=prog --operator=mogrow --epochs=30
--   autoprog-run scripts/vit_pretrain.lua --schedule=autoprog --alpha=fit --search_epochs=2
--   autoprog-run scripts/vit_pretrain.lua --replay=runs/<run>/schedule.json
--   autoprog-run scripts/vit_pretrain.lua --train_subset=5000 --epochs=2      (quick)

-- %% Setup
local ap = require "autoprog"
local defaults = {
  schedule = "original", model = "vit-micro", epochs = 30, batch = 128, lr = 1e-3, weight_decay = 0.05,
  operator = "mogrow", space = 0.5, stages = 4, manual = "", seed = 0,
  train_subset = 0, eval_subset = 0, monitor_subset = 0, augment = true, regularisation = true, ema = 0.998,
  eval_size = 36, drop_path = 0.1,
  -- AutoProg-One: α = "fit" or a number; the supernet trains search_epochs (or search_steps
  -- when > 0) at each searched stage's start; L is measured on search_images training images.
  alpha = "fit", search_epochs = 2.0, search_steps = 0, search_images = 512, recycle = true, replay = "",
}
-- A wrapper recipe (scripts/autoprog_one.lua) sets its own defaults before running this one.
for k, v in pairs(VIT_PRETRAIN_DEFAULTS or {}) do defaults[k] = v end
local opts = ap.options(defaults)
ap.manual_seed(opts.seed)
local train = ap.data.fashion_mnist{ split = "train", subset = opts.train_subset }
-- Evaluation on `eval_subset` test images (all 10k when 0); the per-epoch (and after-growth)
-- monitoring on the first `monitor_subset` of them if given, to keep long studies cheap.
local test = ap.data.fashion_mnist{ split = "test", subset = opts.eval_subset }
local monitor = opts.monitor_subset > 0 and ap.data.fashion_mnist{ split = "test", subset = opts.monitor_subset } or test
local model = ap.models.vit{ preset = opts.model, image = 28, patch = 4, channels = 1, classes = 10,
                             drop_path = opts.drop_path }
print(("%s: %d parameters; %d training images, %d test images"):format(opts.model, model:num_parameters(), #train, #monitor))

-- "--manual=4x3,5x4,7x8": grid x depth per stage, equal shares of the steps; a weight after
-- a colon changes a stage's share ("4x3,5x4,7x8:2": the last stage trains half the steps).
local function manual_stages(spec)
  local usage = "--manual needs stages like 4x3,5x4,7x8 (or 4x3,5x4,7x8:2)"
  assert(spec ~= "", usage)
  local stages = {}
  for item in (spec .. ","):gmatch("([^,]*),") do
    local grid, depth, weight = item:match("^%s*(%d+)x(%d+)(.-)%s*$")
    assert(grid and (weight == "" or weight:sub(1, 1) == ":"),
           ("--manual: '%s' is not a stage (grid x depth, as in 7x8); %s"):format(item, usage))
    local fraction = weight == "" and 1 or tonumber(weight:sub(2))
    assert(fraction and fraction > 0 and fraction < math.huge, "--manual: '" .. item .. "' has no valid weight (a positive number after the colon, as in 7x8:2)")
    stages[#stages + 1] = { grid = tonumber(grid), depth = tonumber(depth), fraction = fraction }
  end
  return stages
end

local progressive = nil
if opts.replay ~= "" then
  -- A recorded AutoProg-One schedule, retrained as a manual Prog schedule (no search).
  assert(opts.schedule == "original" or opts.schedule == "autoprog", "--replay replaces --schedule=" .. opts.schedule)
  progressive = { replay = opts.replay, operator = opts.operator, regularisation = opts.regularisation }
elseif opts.schedule == "autoprog" or opts.schedule == "supernet" then
  local alpha = opts.alpha == "fit" and "fit" or tonumber(opts.alpha)
  assert(alpha, "--alpha must be fit or a number, not " .. opts.alpha)
  progressive = { schedule = opts.schedule, stages = opts.stages, space = opts.space, operator = opts.operator,
                  regularisation = opts.regularisation, alpha = alpha, recycle = opts.recycle,
                  search_images = opts.search_images }
  if opts.search_steps > 0 then progressive.search_steps = opts.search_steps else progressive.search_epochs = opts.search_epochs end
elseif opts.schedule == "prog" or opts.schedule == "progstack" then
  progressive = { schedule = opts.schedule, stages = opts.stages, space = opts.space, operator = opts.operator,
                  regularisation = opts.regularisation }
elseif opts.schedule == "manual" then
  progressive = { schedule = manual_stages(opts.manual), operator = opts.operator, regularisation = opts.regularisation }
elseif opts.schedule ~= "original" then
  error("unknown --schedule=" .. opts.schedule .. " (original, prog, progstack, manual, autoprog, supernet)")
end

-- %% Train
local run = ap.train{
  model = model, data = train, eval = monitor, epochs = opts.epochs, batch = opts.batch,
  optimizer = ap.optim.adamw{ lr = opts.lr, weight_decay = opts.weight_decay },
  lr_schedule = ap.sched.cosine{ warmup = 5 * math.ceil(#train / opts.batch) // 10, min_lr = 1e-5 },
  -- The EMA copy is MoGrow's source: its decay warms up so short stages still average.
  ema = { opts.ema }, ema_warmup = true, label_smoothing = 0.1, progressive = progressive,
  eval_on_stage = true,  -- top-1 right after each growth: what the operator preserved
  augment = opts.augment and { crop = { 0.35, 1 }, flip = 0.5, randaugment = 6, randaugment_std = 0.5, erase = 0.25 } or nil,
  on_stage = function(s) print(("step %d: stage %s"):format(s.step, s.stage)) end,
  on_epoch = function(s)
    print(("epoch %d: loss %.4f, top-1 %.2f%%, %.0f img/s"):format(s.epoch, s.loss, s.eval.top1, s.imgs_per_s))
  end,
}

-- %% Results
-- Evaluated at the training resolution and, with the position embedding interpolated,
-- at a larger one (the model never saw it).
local final = run:evaluate(test)
local larger = run:evaluate(test, { size = opts.eval_size })
local state = run:state()
run:log{ final_top1 = final.top1, final_top1_larger = larger.top1, larger_size = opts.eval_size,
         train_seconds = state.train_seconds }
local schedule = opts.replay ~= "" and "replayed" or opts.schedule
print(("%s, %s schedule: top-1 %.2f%% (%.2f%% at %dx%d) after %d steps; %.0f s training, %.0f s in all"):format(
  opts.model, schedule, final.top1, larger.top1, opts.eval_size, opts.eval_size, run.step,
  state.train_seconds, state.elapsed))
