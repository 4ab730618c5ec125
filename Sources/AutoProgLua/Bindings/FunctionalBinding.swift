import AutoProg
import CLua

/// `ap.F`: stateless ops (`torch.nn.functional`). Dims are 1-based (-1 = last); class
/// labels and embedding indices are 1-based.
extension LuaState {
    func installFunctional(_ ap: Int32) {
        pushSubtable(of: ap, "F")
        documentation["ap.F"] = "Functional ops (torch.nn.functional): activations, softmax, norms, losses, conv2d, resize."
        register(functionalBindings, in: -1, path: "ap.F")
        lua_settop(L, -2)
    }

    private var functionalBindings: [LuaBinding] {
        func unary(_ name: String, _ doc: String, _ f: @escaping (Tensor) throws -> Tensor) -> LuaBinding {
            LuaBinding(name, doc) { call in
                call.push(try f(try call.tensor(1)))
                return 1
            }
        }
        return [
            unary("relu", "ap.F.relu(x): max(x, 0).", relu),
            unary("silu", "ap.F.silu(x): x·σ(x).", silu),
            unary("sigmoid", "ap.F.sigmoid(x): 1 / (1 + e^-x).", sigmoid),
            unary("tanh", "ap.F.tanh(x): hyperbolic tangent.") { AutoProg.tanh($0) },
            LuaBinding("gelu", "ap.F.gelu(x[, approximate=\"none\"|\"tanh\"]): x·Φ(x).") { call in
                let mode = call.isNoneOrNil(2) ? "none" : try call.string(2)
                guard let approximation = GELUApproximation(rawValue: mode) else {
                    throw call.argumentError(2, "approximate must be \"none\" or \"tanh\", got \"\(mode)\"")
                }
                call.push(gelu(try call.tensor(1), approximation: approximation))
                return 1
            },
            LuaBinding("softmax", "ap.F.softmax(x[, dim=-1]): softmax along dim.") { call in
                let x = try call.tensor(1)
                call.push(try softmax(x, axis: try call.axis(2, rank: x.rank, default: -1)))
                return 1
            },
            LuaBinding("log_softmax", "ap.F.log_softmax(x[, dim=-1]): log-softmax along dim.") { call in
                let x = try call.tensor(1)
                call.push(try logSoftmax(x, axis: try call.axis(2, rank: x.rank, default: -1)))
                return 1
            },
            LuaBinding("layer_norm", "ap.F.layer_norm(x[, weight[, bias[, eps=1e-5]]]): normalise over the last dim.") { call in
                call.push(try layerNorm(try call.tensor(1), weight: try call.optionalTensor(2), bias: try call.optionalTensor(3),
                                        epsilon: try call.float(4, default: 1e-5)))
                return 1
            },
            LuaBinding("group_norm", "ap.F.group_norm(x, groups[, weight[, bias[, eps=1e-5]]]): group normalisation of [B, C, ...].") { call in
                call.push(try groupNorm(try call.tensor(1), groups: try call.integer(2), weight: try call.optionalTensor(3),
                                        bias: try call.optionalTensor(4), epsilon: try call.float(5, default: 1e-5)))
                return 1
            },
            LuaBinding("linear", "ap.F.linear(x, weight[, bias]): x·weightᵀ + bias (weight [out, in]).") { call in
                call.push(try linear(try call.tensor(1), weight: try call.tensor(2), bias: try call.optionalTensor(3)))
                return 1
            },
            LuaBinding("matmul", "ap.F.matmul(a, b): matrix product (torch.matmul).") { call in
                call.push(try matmul(try call.tensor(1), try call.tensor(2)))
                return 1
            },
            LuaBinding("cross_entropy", "ap.F.cross_entropy(logits, targets[, {label_smoothing=}]): mean loss; targets are 1-based labels (table or tensor) or probabilities shaped like logits.") { call in
                let logits = try call.tensor(1)
                let options = try LuaOptions(call, 3, valid: ["label_smoothing"], context: "cross_entropy")
                let smoothing = try options.float("label_smoothing") ?? 0
                if let target = LuaHost.object(call.L, 2, TensorBox.self)?.tensor(), target.shape == logits.shape, logits.rank == 2 {
                    guard smoothing == 0 else {
                        throw LuaBindingError("cross_entropy: label_smoothing applies to class labels, not to target probabilities")
                    }
                    call.push(try crossEntropy(logits, probabilities: target))
                    return 1
                }
                let labels = try LuaState.labels(call, 2, classes: logits.rank == 2 ? logits.shape[1] : nil, op: "cross_entropy")
                call.push(try crossEntropy(logits, targets: labels, labelSmoothing: smoothing))
                return 1
            },
            LuaBinding("mse_loss", "ap.F.mse_loss(a, b): mean squared error.") { call in
                call.push(try mseLoss(try call.tensor(1), try call.tensor(2)))
                return 1
            },
            LuaBinding("dropout", "ap.F.dropout(x, p[, training=true]): zero elements with probability p, scale by 1/(1-p).") { call in
                call.push(try dropout(try call.tensor(1), probability: try call.float(2), training: try call.boolean(3, default: true)))
                return 1
            },
            LuaBinding("conv2d", "ap.F.conv2d(x, weight[, bias][, {stride=1, padding=0}]): 2-d convolution of [B, C, H, W] with weight [out, in, k, k].") { call in
                let options = try LuaOptions(call, 4, valid: ["stride", "padding"], context: "conv2d")
                call.push(try conv2d(try call.tensor(1), weight: try call.tensor(2), bias: try call.optionalTensor(3),
                                     stride: try options.integer("stride") ?? 1, padding: try options.integer("padding") ?? 0))
                return 1
            },
            LuaBinding("avg_pool2d", "ap.F.avg_pool2d(x, kernel[, stride=kernel]): average pooling of [B, C, H, W].") { call in
                let kernel = try call.integer(2)
                call.push(try avgPool2d(try call.tensor(1), kernel: kernel, stride: try call.integer(3, default: kernel)))
                return 1
            },
            LuaBinding("resize", "ap.F.resize(x, size[, mode=\"bilinear\"]): resize [B, C, H, W] to size (a number or {h, w}); modes: \(ResizeMode.allCases.map(\.rawValue).joined(separator: ", ")).") { call in
                let x = try call.tensor(1)
                let (h, w): (Int, Int)
                if call.type(2) == LUA_TTABLE {
                    let size = try call.integers(ofTable: 2)
                    guard size.count == 2 else { throw call.argumentError(2, "size must be a number or {height, width}") }
                    (h, w) = (size[0], size[1])
                } else {
                    let s = try call.integer(2)
                    (h, w) = (s, s)
                }
                let name = call.isNoneOrNil(3) ? "bilinear" : try call.string(3)
                guard let mode = ResizeMode(rawValue: name) else {
                    throw call.argumentError(3, "unknown mode \"\(name)\" (valid: \(ResizeMode.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                call.push(try resize(x, height: h, width: w, mode: mode))
                return 1
            },
            LuaBinding("embedding", "ap.F.embedding(indices, weight): rows of weight [n, d] at 1-based indices (a table or tensor).") { call in
                let table = try call.tensor(2)
                if call.type(1) == LUA_TTABLE {
                    call.push(try embedding(try LuaState.labels(call, 1, classes: table.shape.first, op: "embedding"), table: table))
                } else {
                    call.push(try embedding(try call.tensor(1) - 1, table: table))
                }
                return 1
            },
        ]
    }

    /// A number as Lua prints it (%.14g: 3, 0.5).
    static func format(_ v: Float) -> String { String(format: "%.14g", Double(v)) }

    /// 1-based class labels from a table of integers or a tensor of integral values, as
    /// 0-based indices; out-of-range labels are errors that say labels are 1-based.
    static func labels(_ call: LuaCall, _ i: Int32, classes: Int?, op: String) throws -> [Int] {
        let raw: [Double]
        if call.type(i) == LUA_TTABLE {
            raw = try call.numbers(ofTable: i)
        } else if let t = LuaHost.object(call.L, i, TensorBox.self)?.tensor() {
            raw = t.toArray().map(Double.init)
        } else {
            throw call.expected(i, "table of labels or Tensor")
        }
        return try raw.enumerated().map { k, v in
            guard v.rounded() == v, v >= 1, classes.map({ v <= Double($0) }) ?? true else {
                let range = classes.map { "1..\($0)" } ?? "≥ 1"
                throw LuaBindingError("\(op): label \(LuaState.format(Float(v))) at position \(k + 1) is not an integer in \(range) (labels are 1-based)")
            }
            return Int(v) - 1
        }
    }
}
