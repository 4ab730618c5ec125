import Foundation
import Testing
@testable import AutoProg

extension ZeroShot {
    @Suite struct StepTimeTests {
        @Test func fastestOfTheTimedStepsAfterWarmup() throws {
            var calls = 0
            // Warm-up steps are fast and must not count; the timed ones sleep 60, 20 and 40 ms.
            let sleeps: [UInt32] = [0, 60_000, 20_000, 40_000]
            let fastest = try measureStepTime(warmup: 1, timed: 3) {
                usleep(sleeps[calls])
                calls += 1
            }
            #expect(calls == 4)
            #expect(fastest >= 0.020 && fastest < 0.040, "fastest \(fastest) s")
        }

        @Test func needsATimedStep() {
            #expect(throws: TensorError.self) { try measureStepTime(warmup: 1, timed: 0) {} }
            #expect(throws: TensorError.self) { try measureStepTime(warmup: -1, timed: 1) {} }
        }
    }
}
