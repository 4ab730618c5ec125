import Foundation

/// Steady-state time of one training step, in seconds: `step` runs `warmup` times
/// untimed (buffers grow, caches warm), then `timed` times on a monotonic clock; the
/// result is the fastest timed run. A step's own work is fixed, so every slower run is
/// the machine's noise (a neighbour process, a thread woken late), which only ever adds
/// time: the minimum estimates the step's cost, as `timeit` advises. (The median of 3 let
/// one candidate measure 170 ms in one stage and 303 ms in another, enough to swing
/// AutoProg-Zero's vote.)
///
/// AutoProg's T: the supernet's candidates (`Supernet.stepTime`) and AutoProg-Zero's
/// candidates are timed by this one mechanism. `step` is the caller's whole step; keeping
/// the model's state unchanged across it is the caller's business.
public func measureStepTime(warmup: Int, timed: Int, step: () throws -> Void) throws -> Double {
    guard warmup >= 0, timed >= 1 else {
        throw TensorError("step time", "need warmup ≥ 0 and at least one timed step, got warmup \(warmup), timed \(timed)")
    }
    for _ in 0..<warmup { try step() }
    var seconds: [Double] = []
    for _ in 0..<timed {
        let start = ProcessInfo.processInfo.systemUptime
        try step()
        seconds.append(ProcessInfo.processInfo.systemUptime - start)
    }
    return seconds.min()!
}
