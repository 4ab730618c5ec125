import Foundation

/// Which steps of a T-step process a shorter sampling process keeps: improved-diffusion's
/// `space_timesteps`, exactly (Python's round-half-to-even included).
///
/// A specification is either "ddimN" (the DDIM paper's fixed stride: the first integer
/// stride s with |range(0, T, s)| = N) or comma-separated section counts "a,b,c": the T
/// steps are cut into equal sections (the first T mod k one step longer) and section i
/// keeps `a_i` evenly spaced steps, its first and last included. "50" keeps 50 steps of
/// the whole range, as DiT's `create_diffusion("50")`.
public enum TimestepRespacing {
    /// The kept steps in increasing order.
    public static func timesteps(_ specification: String, of totalSteps: Int) throws -> [Int] {
        guard totalSteps > 0 else { throw DiffusionError("cannot respace a process of \(totalSteps) steps") }
        let spec = specification.trimmingCharacters(in: .whitespaces)
        if spec.hasPrefix("ddim") {
            guard let desired = Int(spec.dropFirst(4)), desired > 0 else {
                throw DiffusionError("respacing \"\(specification)\": expected ddimN with N a positive number of steps")
            }
            for stride in 1..<Swift.max(totalSteps, 1) where (totalSteps + stride - 1) / stride == desired {
                return Array(Swift.stride(from: 0, to: totalSteps, by: stride))
            }
            throw DiffusionError("respacing \"\(specification)\": cannot take exactly \(desired) of \(totalSteps) steps with an integer stride")
        }
        let parts = spec.split(separator: ",", omittingEmptySubsequences: false)
        let counts = try parts.map { part -> Int in
            guard let n = Int(part.trimmingCharacters(in: .whitespaces)), n >= 0 else {
                throw DiffusionError("respacing \"\(specification)\": expected \"ddimN\" or comma-separated step counts (\"50\", \"10,20\"), found \"\(part)\"")
            }
            return n
        }
        return try timesteps(sectionCounts: counts, of: totalSteps)
    }

    /// The kept steps for explicit section counts, in increasing order.
    public static func timesteps(sectionCounts: [Int], of totalSteps: Int) throws -> [Int] {
        guard !sectionCounts.isEmpty else { throw DiffusionError("respacing needs at least one section count") }
        let sizePer = totalSteps / sectionCounts.count, extra = totalSteps % sectionCounts.count
        var start = 0
        var kept = Set<Int>()
        for (i, sectionCount) in sectionCounts.enumerated() {
            let size = sizePer + (i < extra ? 1 : 0)
            guard size >= sectionCount else {
                throw DiffusionError("respacing: cannot divide a section of \(size) steps into \(sectionCount) (section \(i + 1) of \(sectionCounts))")
            }
            let stride = sectionCount <= 1 ? 1 : Double(size - 1) / Double(sectionCount - 1)
            var position = 0.0
            for _ in 0..<sectionCount {
                kept.insert(start + Int(position.rounded(.toNearestOrEven)))
                position += stride
            }
            start += size
        }
        guard !kept.isEmpty else { throw DiffusionError("respacing \(sectionCounts) keeps zero steps") }
        return kept.sorted()
    }
}

extension NoiseSchedule {
    /// The process that jumps between the kept steps (`SpacedDiffusion`): its ᾱ at kept
    /// step k equals this schedule's ᾱ at `kept[k]`, so its βs are
    /// β_k = 1 − ᾱ_{kept[k]}/ᾱ_{kept[k−1]} (with ᾱ before the first kept step = 1).
    /// `kept` must be increasing steps of this schedule.
    public func respaced(keeping kept: [Int]) throws -> NoiseSchedule {
        guard !kept.isEmpty else { throw DiffusionError("respacing keeps zero steps") }
        guard kept.allSatisfy({ $0 >= 0 && $0 < count }), zip(kept, kept.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw DiffusionError("respacing: kept steps \(kept) must increase within 0..<\(count)")
        }
        var last = 1.0
        var betas: [Double] = []
        for t in kept {
            betas.append(1 - alphasCumprod[t] / last)
            last = alphasCumprod[t]
        }
        return try NoiseSchedule(betas: betas)
    }
}
