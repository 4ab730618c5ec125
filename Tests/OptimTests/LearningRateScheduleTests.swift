import Foundation
import Testing
@testable import AutoProg

@Suite struct LearningRateScheduleTests {
    @Test func constant() throws {
        let s = ConstantSchedule(learningRate: 3e-4)
        #expect(s.learningRate(at: 0) == 3e-4 && s.learningRate(at: 1_000_000) == 3e-4)
    }

    /// transformers' constant-with-warmup: 0 at step 0, step/warmup during warm-up, base from `warmup` on.
    @Test func constantWithWarmup() throws {
        let s = try ConstantWithWarmupSchedule(baseLearningRate: 1, warmupSteps: 4)
        #expect((0...6).map { s.learningRate(at: $0) } == [0, 0.25, 0.5, 0.75, 1, 1, 1])
        let none = try ConstantWithWarmupSchedule(baseLearningRate: 2, warmupSteps: 0)
        #expect(none.learningRate(at: 0) == 2)
    }

    /// Warm-up 2 of 10 steps to 1, then linear to endFactor 0.1 at step 10, flat after.
    @Test func linearWithEndFactor() throws {
        let s = try LinearSchedule(baseLearningRate: 1, totalSteps: 10, warmupSteps: 2, endFactor: 0.1)
        #expect(s.learningRate(at: 0) == 0)
        #expect(s.learningRate(at: 1) == 0.5)
        #expect(s.learningRate(at: 2) == 1)
        #expect(abs(s.learningRate(at: 6) - 0.55) < 1e-7)
        #expect(abs(s.learningRate(at: 10) - 0.1) < 1e-7)
        #expect(abs(s.learningRate(at: 50) - 0.1) < 1e-7)
        // transformers' get_linear_schedule_with_warmup: factor (total − step)/(total − warmup).
        let plain = try LinearSchedule(baseLearningRate: 2, totalSteps: 5)
        #expect((0...5).map { plain.learningRate(at: $0) } == [2, 1.6, 1.2, 0.8, 0.4, 0])
    }

    /// Warm-up 10 of 110 steps to 1e-3, then half cosine to 1e-5: midpoint is the mean,
    /// the end is the minimum, and it stays there.
    @Test func cosineWithWarmupAndMinimum() throws {
        let s = try CosineSchedule(baseLearningRate: 1e-3, totalSteps: 110, warmupSteps: 10, minLearningRate: 1e-5)
        #expect(s.learningRate(at: 0) == 0)
        #expect(s.learningRate(at: 5) == 5e-4)
        #expect(s.learningRate(at: 10) == 1e-3)
        #expect(abs(s.learningRate(at: 60) - 5.05e-4) < 1e-10)
        let quarter = Float(1e-5 + (1e-3 - 1e-5) * 0.5 * (1 + cos(Double.pi * 0.25)))
        #expect(s.learningRate(at: 35) == quarter)
        #expect(s.learningRate(at: 110) == 1e-5)
        #expect(s.learningRate(at: 500) == 1e-5)
        #expect(s.learningRate(at: 11) < s.learningRate(at: 10))
    }

    /// transformers' get_cosine_schedule_with_warmup(num_warmup_steps=2, num_training_steps=6):
    /// factors [0, 0.5, 1, 0.8535534, 0.5, 0.1464466, 0].
    @Test func cosineMatchesTransformers() throws {
        let s = try CosineSchedule(baseLearningRate: 1, totalSteps: 6, warmupSteps: 2)
        let expected: [Float] = [0, 0.5, 1, 0.85355339, 0.5, 0.14644661, 0]
        for (step, e) in expected.enumerated() { #expect(abs(s.learningRate(at: step) - e) < 1e-7) }
    }

    @Test func configurationRestoresTheSameSchedule() throws {
        let schedules: [any LearningRateSchedule] = [
            ConstantSchedule(learningRate: 0.1),
            try ConstantWithWarmupSchedule(baseLearningRate: 1e-4, warmupSteps: 7),
            try LinearSchedule(baseLearningRate: 3e-3, totalSteps: 100, warmupSteps: 5, endFactor: 0.01),
            try CosineSchedule(baseLearningRate: 1.1e-3, totalSteps: 77, warmupSteps: 3, minLearningRate: 1e-6),
        ]
        for s in schedules {
            let restored = try makeLearningRateSchedule(from: s.configuration)
            #expect(restored.configuration == s.configuration)
            for step in [0, 1, 3, 5, 40, 76, 77, 200] { #expect(restored.learningRate(at: step) == s.learningRate(at: step)) }
        }
    }

    @Test func invalidConfigurationThrows() throws {
        #expect(throws: OptimizerError.self) { try CosineSchedule(baseLearningRate: 1, totalSteps: 10, warmupSteps: 11) }
        #expect(throws: OptimizerError.self) { try LinearSchedule(baseLearningRate: 1, totalSteps: 0) }
        #expect(throws: OptimizerError.self) { try ConstantWithWarmupSchedule(baseLearningRate: 1, warmupSteps: -1) }
        #expect(throws: OptimizerError.self) { try makeLearningRateSchedule(from: ["type": "step"]) }
        #expect(throws: OptimizerError.self) { try makeLearningRateSchedule(from: ["type": "cosine", "base_lr": "1"]) }
    }
}
