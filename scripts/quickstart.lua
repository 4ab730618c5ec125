-- autoprog quick start: a small Vision Transformer learns Fashion-MNIST.
--
--   autoprog-run scripts/quickstart.lua               (a few minutes on 2 cores)
--   autoprog-run scripts/quickstart.lua --epochs=1 --train_subset=2000
--
-- Cells (`-- %%`) become the cells of the run's notebook.ipynb, with their output.

-- %% Setup
local ap = require "autoprog"
local opts = ap.options{
  epochs = 3, batch = 128, lr = 1e-3, weight_decay = 0.05, seed = 0,
  model = "vit-nano", train_subset = 0, eval_subset = 2000,
}
ap.manual_seed(opts.seed)

local train = ap.data.fashion_mnist{ split = "train", subset = opts.train_subset }
local test = ap.data.fashion_mnist{ split = "test", subset = opts.eval_subset }
print(("train: %d images, test: %d images, classes: %s"):format(#train, #test, table.concat(train:classes(), ", ")))

local model = ap.models.vit{ preset = opts.model, image = 28, patch = 4, channels = 1, classes = 10 }
print(model)

-- %% Train
local run = ap.train{
  model = model, data = train, eval = test, epochs = opts.epochs, batch = opts.batch,
  optimizer = ap.optim.adamw{ lr = opts.lr, weight_decay = opts.weight_decay },
  lr_schedule = ap.sched.cosine{ warmup = 50, min_lr = 1e-5 },
  label_smoothing = 0.1, ema = { 0.998 },
  on_epoch = function(s)
    print(("epoch %d: loss %.4f, eval top-1 %.2f%%"):format(s.epoch, s.loss, s.eval.top1))
  end,
}

-- %% Results
local final = run:evaluate(test)
print(("final top-1 on %d test images: %.2f%%"):format(final.count, final.top1))
local images = test:images{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }
ap.image.save(run.dir .. "/samples/test_grid.png", ap.image.grid(images, { nrow = 8 }))
