-- A hand-written training loop (no ap.train): an MLP on a Fashion-MNIST subset with
-- ap.nn, ap.F.cross_entropy, AdamW, a cosine schedule and a safetensors checkpoint.
local ap = require "autoprog"
local opts = ap.options{ steps = 60, batch = 64, lr = 2e-3, seed = 0, out = "" }
ap.manual_seed(opts.seed)

-- %% model
local data = ap.data.fashion_mnist{ split = "train", subset = 2048 }
local model = ap.nn.Sequential()
  :add(ap.nn.Linear(784, 128)):add(ap.nn.GELU())
  :add(ap.nn.Linear(128, 10))
print(model)
local opt = ap.optim.adamw{ params = model, lr = opts.lr, weight_decay = 0.01 }
local sched = ap.sched.cosine{ lr = opts.lr, total = opts.steps, warmup = 5 }

-- %% train
local first, last
for step = 0, opts.steps - 1 do
  local indices = {}
  for i = 1, opts.batch do indices[i] = (step * opts.batch + i - 1) % #data + 1 end
  local images, labels = data:batch(indices)
  local logits = model(images:view(opts.batch, 784))
  local loss = ap.F.cross_entropy(logits, labels)
  opt:zero_grad()
  loss:backward()
  opt.lr = sched:lr(step)
  opt:step()
  first = first or loss:item()
  last = loss:item()
end
print(("loss %.3f -> %.3f"):format(first, last))
assert(last < first, "training did not lower the loss")

-- %% checkpoint
local path = (opts.out ~= "" and opts.out or os.tmpname()) .. ".safetensors"
ap.save(path, model:state_dict(), { steps = tostring(opts.steps) })
local restored = ap.nn.Sequential():add(ap.nn.Linear(784, 128)):add(ap.nn.GELU()):add(ap.nn.Linear(128, 10))
local tensors, metadata = ap.load(path)
restored:load_state_dict(tensors)
print("reloaded after " .. metadata.steps .. " steps")
os.remove(path)
