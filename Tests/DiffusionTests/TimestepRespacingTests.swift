import Foundation
import Testing
@testable import AutoProg

@Suite struct TimestepRespacingTests {
    @Test func ddimStridesAndSectionCounts() throws {
        #expect(try TimestepRespacing.timesteps("ddim50", of: 1000) == Array(stride(from: 0, to: 1000, by: 20)))
        #expect(try TimestepRespacing.timesteps("ddim10", of: 1000) == Array(stride(from: 0, to: 1000, by: 100)))
        // One section of 4 over 10 steps: stride 3, positions 0, 3, 6, 9.
        #expect(try TimestepRespacing.timesteps("4", of: 10) == [0, 3, 6, 9])
        // Two sections of 5 steps: 2 from the first (0, 4), 3 from the second (5, 7, 9).
        #expect(try TimestepRespacing.timesteps("2,3", of: 10) == [0, 4, 5, 7, 9])
        // Python's round(): 2.5 rounds to 2 (half to even). Section of 6 into 3: stride 2.5.
        #expect(try TimestepRespacing.timesteps("3", of: 6) == [0, 2, 5])
        #expect(try TimestepRespacing.timesteps("1000", of: 1000) == Array(0..<1000))
    }

    @Test func matchesSpaceTimestepsOfTheReference() throws {
        for case let entry as [String: Any] in DiffusionFixture.reference["respacing"] as! [Any] {
            let spec = entry["spec"] as! String, total = (entry["total"] as! NSNumber).intValue
            #expect(try TimestepRespacing.timesteps(spec, of: total) == DiffusionFixture.ints(entry["steps"]), "\(spec) of \(total)")
        }
    }

    @Test func respacedProcessKeepsAlphaBarAtTheKeptSteps() throws {
        let base = try GaussianDiffusion(.linear, steps: 1000)
        let spaced = try base.respaced("50")
        let kept = try TimestepRespacing.timesteps("50", of: 1000)
        #expect(spaced.stepCount == 50 && spaced.timestepMap == kept && spaced.originalStepCount == 1000)
        let alphaBar = closedFormLinearAlphaBar(steps: 1000)
        for (k, t) in kept.enumerated() {
            #expect(relativeError(spaced.schedule.alphasCumprod[k], alphaBar[t]) < 1e-12)
        }
        let ref = DiffusionFixture.table("respaced_linear_50")
        #expect(DiffusionFixture.ints(ref["timestep_map"]) == spaced.timestepMap)
        for (ours, theirs) in zip(spaced.schedule.betas, DiffusionFixture.doubles(ref["betas"])) {
            #expect(Swift.abs(ours - theirs) <= 1e-14 * Swift.max(1, theirs))
        }
        // Respacing a respaced process composes the maps.
        let twice = try spaced.respaced(keeping: [0, 10, 49])
        #expect(twice.timestepMap == [kept[0], kept[10], kept[49]])
        #expect(relativeError(twice.schedule.alphasCumprod[1], alphaBar[kept[10]]) < 1e-12)
        #expect(try base.respaced(steps: 1000).timestepMap == Array(0..<1000))
    }

    @Test func respacingErrors() throws {
        #expect { try TimestepRespacing.timesteps("ddim999", of: 1000) } throws: { "\($0)".contains("integer stride") }
        #expect { try TimestepRespacing.timesteps("ddim", of: 1000) } throws: { "\($0)".contains("ddimN") }
        #expect { try TimestepRespacing.timesteps("fifty", of: 1000) } throws: { "\($0)".contains("fifty") }
        #expect { try TimestepRespacing.timesteps("0", of: 1000) } throws: { "\($0)".contains("zero steps") }
        #expect { try TimestepRespacing.timesteps("600,600", of: 1000) } throws: { "\($0)".contains("500 steps into 600") }
        let d = try GaussianDiffusion(.linear, steps: 100)
        #expect { try d.respaced(steps: 0) } throws: { "\($0)".contains("steps > 0") }
        #expect { try d.respaced(steps: 101) } throws: { "\($0)".contains("101 steps") }
        #expect { try d.respaced(keeping: [5, 3]) } throws: { "\($0)".contains("must increase") }
    }
}
