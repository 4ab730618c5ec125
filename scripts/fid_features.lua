-- The feature network behind autoprog's FID, KID and class-conditional accuracy
-- (ap.metrics): a small CNN classifier trained on Fashion-MNIST, used in place of
-- Inception-v3, whose weights cannot be downloaded here. Its penultimate (128-d,
-- global-average-pooled) activations are the features FID and KID compare.
-- About 6 minutes on 2 cores; the checkpoint is about 1 MB.
--
--   autoprog-run scripts/fid_features.lua                 (writes models/fid-fashion-mnist-v1.safetensors)
--   autoprog-run scripts/fid_features.lua --data=emoji --image=32   (models/fid-emoji32-v1.safetensors)
--   autoprog-run scripts/fid_features.lua --train_subset=512 --epochs=1 --out=/tmp/f.safetensors   (quick)
--
-- --data=emoji: the 8 categories of the ruby-gemojione emoji (ap.data.emoji) in colour at
-- --image px. They have no test split: every 10th image is held out for the accuracy.
--
-- FID numbers are comparable only between evaluations with the same checkpoint: a new
-- architecture or training recipe gets a new version in the file name.

-- %% Setup
local ap = require "autoprog"
local opts = ap.options{
  data = "fashion-mnist", image = 32, epochs = 6, batch = 128, lr = 2e-3, weight_decay = 0.05, seed = 0,
  train_subset = 0, eval_subset = 0, out = "",
}
ap.manual_seed(opts.seed)
local train, test, channels
if opts.data == "fashion-mnist" then
  train = ap.data.fashion_mnist{ split = "train", subset = opts.train_subset }
  test = ap.data.fashion_mnist{ split = "test", subset = opts.eval_subset }
  channels = 1
elseif opts.data == "emoji" then
  local all = ap.data.emoji{ size = opts.image }
  local train_indices, test_indices = {}, {}
  for i = 1, #all do table.insert(i % 10 == 0 and test_indices or train_indices, i) end
  train, test = all:subset(train_indices), all:subset(test_indices)
  if opts.train_subset > 0 then train = train:subset(opts.train_subset) end
  if opts.eval_subset > 0 then test = test:subset(opts.eval_subset) end
  channels = 3
else
  error(("unknown --data=%s (fashion-mnist or emoji)"):format(opts.data), 0)
end
local out = opts.out ~= "" and opts.out
  or (opts.data == "emoji" and ("models/fid-emoji%d-v1.safetensors"):format(opts.image) or "models/fid-fashion-mnist-v1.safetensors")
local model = ap.metrics.feature_network{ channels = channels, classes = #train:classes() }
print(model)
print(("%d parameters; %d training images, %d test images"):format(model:num_parameters(), #train, #test))

-- %% Train
-- Light augmentation only (mild crops, flips): the features should describe the images
-- as they are, not be invariant to distortions a generator might produce.
local steps_per_epoch = math.ceil(#train / opts.batch)
local run = ap.train{
  model = model, data = train, eval = test, epochs = opts.epochs, batch = opts.batch,
  optimizer = ap.optim.adamw{ lr = opts.lr, weight_decay = opts.weight_decay },
  lr_schedule = ap.sched.cosine{ warmup = math.max(1, steps_per_epoch // 4), min_lr = 1e-5 },
  augment = { crop = { 0.8, 1 }, flip = 0.5 }, log_every = 50,
  on_epoch = function(s)
    print(("epoch %d: loss %.4f, test top-1 %.2f%%, %.0f img/s"):format(s.epoch, s.loss, s.eval.top1, s.imgs_per_s))
  end,
}

-- %% Results
local final = run:evaluate(test)
local elapsed = run:state().elapsed
ap.save(out, model:state_dict(), {
  test_top1 = ("%.2f"):format(final.top1), test_images = tostring(final.count),
  recipe = "scripts/fid_features.lua", data = opts.data, image = tostring(train:shape()[2]),
  epochs = tostring(opts.epochs), batch = tostring(opts.batch),
  lr = tostring(opts.lr), seed = tostring(opts.seed), train_images = tostring(#train),
  train_seconds = ("%.0f"):format(elapsed), date = os.date("!%Y-%m-%d"), engine = ap.version,
})
print(("feature network: test top-1 %.2f%% on %d images after %d steps in %.0f s; saved to %s"):format(
  final.top1, final.count, run.step, elapsed, out))
