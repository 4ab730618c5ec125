-- Mixup through ap.train's `loss` hook: each batch is blended with itself shifted by
-- one (the loader already shuffles, so partners are random), and the loss uses the
-- blended one-hot targets (soft-target cross-entropy).
local ap = require "autoprog"
local opts = ap.options{ steps = 20, batch = 32, alpha = 0.4, seed = 0 }
ap.manual_seed(opts.seed)

-- %% setup
local train = ap.data.fashion_mnist{ split = "train", subset = 1024 }
local model = ap.models.vit{ image = 28, patch = 7, channels = 1, classes = 10, dim = 32, depth = 2, heads = 2 }

local function one_hot(labels, classes)
  local rows = {}
  for i, label in ipairs(labels) do
    local row = {}
    for k = 1, classes do row[k] = (k == label) and 1 or 0 end
    rows[i] = row
  end
  return ap.tensor(rows)
end

-- Rolls the first dimension by one: row i is paired with row i+1.
local function roll(t)
  local n = t:size(1)
  return ap.cat({ t:narrow(1, 2, n - 1), t:narrow(1, 1, 1) }, 1)
end

-- %% train
local lam = 1 - opts.alpha / 2   -- a fixed mixing weight keeps the example deterministic
local run = ap.train{
  model = model, data = train, steps = opts.steps, batch = opts.batch,
  optimizer = ap.optim.adamw{ lr = 2e-3 },
  loss = function(m, batch)
    local images = batch.images * lam + roll(batch.images) * (1 - lam)
    local targets = one_hot(batch.labels, 10)
    targets = targets * lam + roll(targets) * (1 - lam)
    return ap.F.cross_entropy(m(images), targets)
  end,
}
print(("mixup training: %d steps, final loss %.3f"):format(run.step, run.loss))
