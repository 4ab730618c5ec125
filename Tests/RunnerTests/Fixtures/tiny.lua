-- A tiny, fast recipe for the runner's end-to-end tests.
-- %% setup
local ap = require "autoprog"
local opts = ap.options{ steps = 8, batch = 16, subset = 256, seed = 3, crash_at = 0, checkpoint_every = 4, dim = 16, prog = "",
                        schedule = "prog", search_steps = 2, alpha = -1.0, replay = "", steer = false }
ap.manual_seed(opts.seed)
local train = ap.data.fashion_mnist{ split = "train", subset = opts.subset }
local test = ap.data.fashion_mnist{ split = "test", subset = 64 }
local model = ap.models.vit{ image = 28, patch = 7, channels = 1, classes = 10, dim = opts.dim, depth = 2, heads = 2, drop_path = 0.1 }
print("model parameters: " .. model:num_parameters())
-- %% train
-- --prog=OPERATOR: two stages of --schedule (prog, autoprog, supernet) or the --replay of a schedule.json.
local progressive = nil
if opts.replay ~= "" then
  progressive = { replay = opts.replay, operator = "mogrow" }
elseif opts.prog ~= "" then
  progressive = { schedule = opts.schedule, stages = 2, space = 0.5, operator = opts.prog, regularisation = true }
  if opts.schedule == "autoprog" then
    progressive.search_steps = opts.search_steps
    progressive.search_images = 32
    progressive.alpha = opts.alpha >= 0 and opts.alpha or "fit"
  end
end
local steered = false
local run = ap.train{
  model = model, data = train, eval = test, steps = opts.steps, batch = opts.batch,
  optimizer = ap.optim.adamw{ lr = 3e-3 }, lr_schedule = ap.sched.cosine{ warmup = 2 },
  ema = { 0.9 }, label_smoothing = 0.1,
  progressive = progressive,
  ema_warmup = progressive ~= nil, eval_on_stage = true,
  augment = { crop = { 0.5, 1 }, flip = 0.5, randaugment = 5, erase = 0.25, mixup = 0.8, cutmix = 1.0 }, checkpoint_every = opts.checkpoint_every, eval_every = 4,
  on_step = function(s)
    if s.step == opts.crash_at then error("crash requested at step " .. s.step) end
    -- --steer: what the REPL can do while a search runs, through its global `supernet`.
    if opts.steer and supernet and supernet.searching and not steered then
      steered = true
      print(("supernet: %d candidates, alpha %s, until step %d"):format(#supernet:candidates(), tostring(supernet.alpha), supernet.end_step))
      print(("candidate 3 (%dx%d): eval loss %.3f"):format(supernet:candidates()[3].grid, supernet:candidates()[3].depth,
                                                          supernet:evaluate(3, test).loss))
      local measured = supernet:measure()
      print(("measured: candidate 1 L %.3f T %.3f ms"):format(measured[1].loss, measured[1].step_ms))
      supernet:choose(3)
      supernet.alpha = 0.5
    end
  end,
  on_eval = function(s) print(("eval at step %d: top-1 %.1f%%"):format(s.step, s.eval.top1)) end,
}
-- %% results
print(("done: step %d, loss %.4f"):format(run.step, run.loss))
ap.image.save(run.dir .. "/samples/grid.png", ap.image.grid(test:images{ 1, 2, 3, 4 }, { nrow = 2 }))
