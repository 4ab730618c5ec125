-- Tensors and autograd, Torch7-style: creation, arithmetic, views, backward.
local ap = require "autoprog"
ap.manual_seed(0)

-- %% tensors
local x = ap.tensor{ { 1, 2, 3 }, { 4, 5, 6 } }
print(x)                               -- a summary: shape, dtype, statistics
print(x:size(1), x:size(2), x:numel()) -- dimensions are 1-based, as in Torch7
print((x * 2 + 1):totable()[2][3])     -- 13
print(x:transpose(1, 2):contiguous():view(-1):totable()[2])  -- 4

-- %% autograd
local w = ap.randn(3, 2, { requires_grad = true })
local y = x:matmul(w):pow(2):sum()
y:backward()
print("dy/dw:", w.grad)
-- d/dw sum((xw)^2) = 2 x^T (x w)
local expected = (x:transpose(1, 2):matmul(x:matmul(w)) * 2)
print("matches the closed form:", ((w.grad - expected):abs():max():item()) < 1e-4)

-- %% no_grad
local z = ap.no_grad(function() return x:matmul(w) end)
print("recorded under no_grad:", z.requires_grad)
