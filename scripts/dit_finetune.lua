-- Fine-tuning the pretrained base DiT (scripts/dit_pretrain.lua, source classes 1-5) on the
-- *target* split of Fashion-MNIST (classes 6-10: sandal, shirt, sneaker, bag, ankle boot):
-- the analogue of the paper's ImageNet → Flowers/CUB transfer (AutoProg §4, Tables 6/12).
--
--   autoprog-run scripts/dit_finetune.lua --method=autoprog-zero            (the default)
--   autoprog-run scripts/dit_finetune.lua --method=full --steps=2000
--   autoprog-run scripts/dit_finetune.lua --method=lora --lora_rank=8
--   autoprog-run scripts/dit_finetune.lua --method=autoprog-zero --sid=false --order=output-first
--   autoprog-run scripts/dit_finetune.lua --steps=20 --fid_per_class=8 --final_fid_per_class=16   (quick)
--   autoprog-run scripts/dit_finetune.lua --data=emoji --image=32 --method=full
--
-- --data=emoji: the colour emoji of ruby-gemojione (ap.data.emoji), fine-tuned from the base
-- that `dit_pretrain.lua --data=emoji --image=N` made on the source categories (people,
-- symbols, flags, objects) to the target ones (nature, food, activity, travel); FID and class
-- accuracy with the emoji feature network, against the target images themselves (they have
-- no test split).
--
-- Methods: full, bitfit, difffit, lora (the usual fine-tuning baselines: all weights; biases;
-- biases + scale factors; low-rank adapters; each with the class embedding, as the target's
-- classes are new), prog (resolution and unfrozen blocks rising
-- uniformly over the stages), autoprog-one (each stage's sub-network chosen by training the
-- candidates as a supernet), autoprog-zero (chosen zero-shot by the rank vote of step time,
-- NTK condition number and ZiCo). The progressive ones condition on a unique stage
-- identifier (--sid), unfreeze blocks in --order and train the stages at resolutions
-- linspace(--space, 1, --stages) of the full size, for 28 px: 16, 20, 24, 28 px at the default 0.5, whose
-- smallest stage is a 4×4 patch grid like the paper's (¼ of DiT-XL/2's 32×32 latent at
-- patch 2). The paper's ratio 0.25 would shrink our 28 px, patch-4 images to a 2×2 grid,
-- which taught the model little it kept at 28 px (AutoProg-Zero at lr 1e-4: FID 12.07
-- against 5.58 with 0.5).
--
-- --order: which blocks a fraction l of the trunk means. interleaved (block i iff
-- i mod 4 < 4·l, the reference code's order, the default), output-first (the top ⌈l·depth⌉
-- blocks: the patch embedding and the lower blocks stay frozen and backward stops at the
-- lowest learnable block) or input-first. On the emoji task AutoProg-Zero output-first took
-- 0.37-0.39× of full fine-tuning's time, interleaved 0.45× (studies/results/dit_finetune.md).
--
-- lr 4e-4, not DiT's 1e-4 (tuned for 400k-step runs of far larger models): full
-- fine-tuning reached FID 3.54 at step 1000 against 5.35 (250 samples), so every method
-- is compared at a learning rate that suits this model and budget.
--
-- Every --fid_every steps and at the end the EMA weights are sampled (DDIM, --fid_steps
-- steps, guidance --fid_cfg; --fid_per_class samples a class) and scored against the
-- held-out target images: FID with the project's feature network, and the class accuracy of
-- the samples — with the training time so far, so a study can plot FID against runtime. The
-- final figures use more samples (--final_fid_per_class).

-- %% Setup
local ap = require "autoprog"
local opts = ap.options{
  data = "fashion-mnist", image = 32, base = "", classes = "", features = "",
  method = "autoprog-zero", sid = true, order = "interleaved", stages = 4, space = 0.5, search_steps = 0, shift = false,
  steps = 2000, batch = 64, lr = 4e-4, ema = 0.9999, seed = 0, subset = 0,
  lora_rank = 4, lora_alpha = 4,
  fid_every = 0, fid_per_class = 50, final_fid_per_class = 200, fid_steps = 50, fid_cfg = 1.5,
  samples_per_class = 4, sample_cfg = 4.0, sid_probe = false,
}
ap.manual_seed(opts.seed)

local progressive_methods = { prog = true, ["autoprog-zero"] = true, ["autoprog-one"] = true }
local baseline_methods = { full = true, bitfit = true, difffit = true, lora = true }
if not (progressive_methods[opts.method] or baseline_methods[opts.method]) then
  error(("unknown --method=%s (full, bitfit, difffit, lora, prog, autoprog-one, autoprog-zero)"):format(opts.method), 0)
end
local progressive = progressive_methods[opts.method]
assert(not opts.sid_probe or (progressive and opts.sid), "--sid_probe needs a progressive method with --sid=true")

local emoji = opts.data == "emoji"
if not (emoji or opts.data == "fashion-mnist") then error(("unknown --data=%s (fashion-mnist or emoji)"):format(opts.data), 0) end
local base_path = opts.base ~= "" and opts.base
  or (emoji and ("models/dit-s4-emoji%d-source-v1.safetensors"):format(opts.image) or "models/dit-s4-fmnist-source-v1.safetensors")
local base_file = io.open(base_path, "rb")
if not base_file then
  error(("no base model at %s: it is made by a recipe, not downloaded —\n"
         .. "  autoprog-run scripts/dit_pretrain.lua%s     (see README for the time it takes)\n"
         .. "then give the file it writes with --base=PATH"):format(base_path,
                                                                   emoji and (" --data=emoji --image=" .. opts.image) or ""), 0)
end
base_file:close()
local base, meta = ap.load(base_path)
if (meta.data or "fashion-mnist") ~= opts.data then
  error(("the base model %s was trained on %s, not --data=%s"):format(base_path, meta.data or "fashion-mnist", opts.data), 0)
end
local image, channels = tonumber(meta.image or 28), tonumber(meta.channels or 1)

-- The target classes (Fashion-MNIST numbers or emoji category names), their training
-- images and the reference images FID compares with.
local class_list = opts.classes ~= "" and opts.classes or (emoji and "nature,food,activity,travel" or "6,7,8,9,10")
local classes, train, held_out, features = {}, nil, nil, nil
if emoji then
  for c in class_list:gmatch("[^,]+") do classes[#classes + 1] = c end
  held_out = ap.data.emoji{ categories = classes, size = image }
  train = opts.subset > 0 and held_out:subset(opts.subset) or held_out
  features = ("models/fid-emoji%d-v1.safetensors"):format(image)
else
  for c in class_list:gmatch("%d+") do classes[#classes + 1] = tonumber(c) end
  assert(#classes > 0, "--classes needs 1-based Fashion-MNIST classes like 6,7,8,9,10")
  train = ap.data.fashion_mnist{ split = "train", classes = classes, subset = opts.subset }
  held_out = ap.data.fashion_mnist{ split = "test", classes = classes }
end
if opts.features ~= "" then features = opts.features end
-- The base's class rows become the target's (below), so the counts must match.
local base_classes = base["y_embedder.embedding_table.weight"]:size()[1] - 1
if base_classes ~= #classes then
  error(("the base model %s has %d classes and --classes=%s names %d: give as many target classes as it has"):format(
    base_path, base_classes, class_list, #classes), 0)
end
-- The base model's class rows are re-used for the target classes (same count, new meaning).
-- The base weights load strictly into a plain DiT; the SID table and the methods' extra
-- parameters (DiffFit's scales, LoRA's adapters) are added after, at their neutral start.
local function make_model()
  local m = ap.models.dit{ preset = meta.model or "dit-s4", image = image, channels = channels, classes = #classes,
                           learn_sigma = meta.learn_sigma ~= "false" }
  m:load_state_dict(base)
  if progressive and opts.sid then m:enable_sid(opts.stages) end
  if baseline_methods[opts.method] then
    local peft = { method = opts.method }
    if opts.method == "lora" then peft.rank, peft.alpha = opts.lora_rank, opts.lora_alpha end
    ap.finetune.prepare(m, peft)
  end
  return m
end
local model = make_model()
-- --shift: the schedule is for the full size; a smaller stage's images train with the SNR
-- scaled by (full/side)², as an area-averaged noisy image is that much less noisy (simple diffusion).
local diffusion = ap.diffusion{ schedule = meta.schedule or "linear", steps = 1000, schedule_size = opts.shift and image or nil }
print(("%s from %s: %d parameters, %d learnable (%s); %d training images of classes %s"):format(
  meta.model or "dit-s4", base_path, model:num_parameters(), model:num_parameters(true), opts.method, #train, class_list))

local function labels(per_class)
  local ys = {}
  for k = 1, #classes do
    for _ = 1, per_class do ys[#ys + 1] = k end
  end
  return ys
end

-- FID and class accuracy of `per_class` samples per class against the held-out images;
-- the feature network knows all the data's classes, and calls ours feature_classes.
local feature_classes = train:base_classes()
local function evaluate(m, per_class, seed)
  local ys = labels(per_class)
  local fake = diffusion:to_unit(diffusion:sample{ model = m, classes = ys, steps = opts.fid_steps, cfg = opts.fid_cfg,
                                                   seed = seed })
  local original = {}
  for i, y in ipairs(ys) do original[i] = feature_classes[y] end
  return ap.metrics.fid{ real = held_out, fake = fake, features = features },
         ap.metrics.class_accuracy{ images = fake, classes = original, features = features }
end

-- %% Fine-tune
local fid_every = opts.fid_every > 0 and opts.fid_every or math.max(1, opts.steps // 4)
local curve = {}
local run = ap.train{
  model = model, data = train, steps = opts.steps, batch = opts.batch,
  -- DiT's fine-tuning recipe, AdamW at a constant rate without weight decay (the rate:
  -- see the top); one optimizer for the whole run (a frozen parameter gets no gradient).
  optimizer = ap.optim.adamw{ lr = opts.lr, weight_decay = 0 },
  ema = { opts.ema }, ema_warmup = true, log_every = 10,
  loss = function(m, batch) return diffusion:loss(m, diffusion:from_unit(batch.images), batch.labels) end,
  progressive = progressive and { schedule = opts.method, stages = opts.stages, space = opts.space, order = opts.order,
                                  diffusion = diffusion,
                                  search_steps = opts.method == "autoprog-one" and opts.search_steps > 0 and opts.search_steps or nil } or nil,
  sample_every = fid_every,
  -- Sampled from the EMA weights: the points of the FID-vs-runtime curve, and a grid.
  sample = function(m, state)
    local fid, accuracy = evaluate(m, opts.fid_per_class, 1)
    curve[#curve + 1] = { step = state.step, train_seconds = state.train_seconds, fid = fid, class_accuracy = accuracy }
    print(("step %d: FID %.2f, class accuracy %.1f%% (%d samples), %.0f s of training"):format(
      state.step, fid, 100 * accuracy, opts.fid_per_class * #classes, state.train_seconds))
    return diffusion:to_unit(diffusion:sample{ model = m, classes = labels(opts.samples_per_class), steps = opts.fid_steps,
                                               cfg = opts.sample_cfg, seed = 0 })
  end,
}

-- %% Evaluate
-- The final EMA weights (with the last stage's SID), more samples.
local state = run:state()
local final = make_model()
final:load_state_dict(run:ema_state_dict())   -- a new SID table starts at the final stage
local fid, accuracy = evaluate(final, opts.final_fid_per_class, 1)
for _, point in ipairs(curve) do run:log{ event = "fid_eval", eval_step = point.step, eval_train_seconds = point.train_seconds,
                                           fid = point.fid, class_accuracy = point.class_accuracy } end
run:log{ event = "final", data = opts.data, classes = class_list, method = opts.method, sid = progressive and opts.sid or false, order = opts.order,
         fid = fid, class_accuracy = accuracy, fid_samples = opts.final_fid_per_class * #classes,
         train_seconds = state.train_seconds, batch = opts.batch }
print(("%s: FID %.2f, class accuracy %.1f%% (%d samples) after %d steps; %.0f s of training"):format(
  opts.method, fid, 100 * accuracy, opts.final_fid_per_class * #classes, run.step, state.train_seconds))

-- --sid_probe: the final samples again (same seed, same noise) with each earlier stage's
-- identifier in place of the last one's. FIDs equal to the final one mean the model ignores
-- which stage it is told, so SID cannot change what it samples. Works on a finished run too:
-- resume it (--resume=<run>, the run's own options) and only this evaluation runs.
if opts.sid_probe then
  for k = 1, opts.stages - 1 do
    final:set_stage(k)
    local probe_fid, probe_accuracy = evaluate(final, opts.final_fid_per_class, 1)
    run:log{ event = "sid_probe", sid_stage = k, fid = probe_fid, class_accuracy = probe_accuracy }
    print(("sampled with stage %d's identifier: FID %.2f, class accuracy %.1f%%"):format(k, probe_fid, 100 * probe_accuracy))
  end
end
