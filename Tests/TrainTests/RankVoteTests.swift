import Testing
@testable import AutoProg

/// AutoProg-Zero's rank vote and the fine-tuning levels it moves through.
@Suite struct RankVoteTests {
    @Test func competitionRankingSharesRanksAndSkips() {
        #expect(RankVote.competitionRanks([3, 1, 3, 2], lowerIsBetter: true) == [3, 1, 3, 2])
        #expect(RankVote.competitionRanks([5, 5, 1, 5], lowerIsBetter: true) == [2, 2, 1, 2])
        #expect(RankVote.competitionRanks([0.2, 0.9, 0.9], lowerIsBetter: false) == [3, 1, 1])
        // Degenerate metrics rank last, tied with each other, in either direction.
        #expect(RankVote.competitionRanks([.nan, 2, .infinity, 1], lowerIsBetter: true) == [3, 2, 3, 1])
        #expect(RankVote.competitionRanks([-.infinity, 2, .nan], lowerIsBetter: false) == [2, 1, 2])
    }

    /// R = R(T) + ½R(κ) + ½R(ZiCo); κ lower is better, ZiCo higher; ties to the earlier.
    @Test func voteWeightsTimeFullyAndTheMetricsByHalf() {
        typealias B = RankVote.Ballot
        // The cheapest candidate is worst on both metrics (1 + 2 + 2 = 5); the second is
        // best on both (2 + ½ + ½ = 3): it wins.
        var (ballots, winner) = RankVote.count([B(stepSeconds: 1, kappa: 90, zico: 1), B(stepSeconds: 2, kappa: 10, zico: 9),
                                                B(stepSeconds: 3, kappa: 50, zico: 5), B(stepSeconds: 4, kappa: 40, zico: 6)])
        #expect(winner == 1)
        #expect(ballots.map(\.vote) == [5, 3, 6, 6])
        #expect(ballots[0].rankT == 1 && ballots[0].rankKappa == 4 && ballots[0].rankZico == 4)
        // 1 + 1 + 1 = 3 against 2 + ½ + ½ = 3: a tie goes to the smaller (earlier) one.
        (ballots, winner) = RankVote.count([B(stepSeconds: 1, kappa: 20, zico: 8), B(stepSeconds: 2, kappa: 10, zico: 9)])
        #expect(ballots.map(\.vote) == [3, 3] && winner == 0)
        // A NaN κ and −∞ ZiCo (degenerate) rank worst: 1 + 1½ + 1½ = 4 loses to 2 + ½ + ½.
        (ballots, winner) = RankVote.count([B(stepSeconds: 1, kappa: .nan, zico: -.infinity), B(stepSeconds: 2, kappa: 3, zico: 2),
                                            B(stepSeconds: 3, kappa: 4, zico: 1)])
        #expect(winner == 1 && ballots[0].rankKappa == 3 && ballots[0].rankZico == 3 && ballots[0].vote == 4)
    }

    @Test func levelsRoundUpToPatchMultiples() throws {
        let dit = try FineTuneLevels(fullResolution: 28, multiple: 4, count: 4)
        #expect(dit.resolutions == [8, 16, 24, 28] && dit.fractions == [0.25, 0.5, 0.75, 1])
        #expect(try FineTuneLevels(fullResolution: 32, multiple: 2, count: 4).resolutions == [8, 16, 24, 32])
        #expect(try FineTuneLevels(fullResolution: 8, multiple: 4, count: 4).resolutions == [4, 4, 8, 8])
        #expect(throws: (any Error).self) { try FineTuneLevels(fullResolution: 30, multiple: 4, count: 4) }
        #expect(throws: TensorError.self) { try FineTuneLevels(fullResolution: 28, multiple: 4, count: 0) }
        // s₁ = ½: ratios ½, ⅔, ⅚, 1 of 28 → 14, 18.7, 23.3, 28 → up to multiples of 4.
        let half = try FineTuneLevels(fullResolution: 28, multiple: 4, count: 4, smallestResolutionRatio: 0.5)
        #expect(half.resolutions == [16, 20, 24, 28] && half.fractions == dit.fractions)
        #expect(try FineTuneLevels(fullResolution: 28, multiple: 4, count: 1, smallestResolutionRatio: 0.5).resolutions == [28])
        for bad in [0.0, -0.5, 1.5, .nan] {
            #expect(throws: TensorError.self) { try FineTuneLevels(fullResolution: 28, multiple: 4, count: 4, smallestResolutionRatio: bad) }
        }
    }

    @Test func candidatesAreCurrentAndNextOfEach() throws {
        let levels = try FineTuneLevels(fullResolution: 28, multiple: 4, count: 4)
        func codes(_ c: [FineTuneCandidate]) -> [String] { c.map(\.code) }
        #expect(codes(levels.candidates(after: nil)) == ["r0l0", "r0l1", "r1l0", "r1l1"])
        #expect(codes(levels.candidates(after: FineTuneCandidate(resolutionLevel: 1, fractionLevel: 3))) == ["r1l3", "r2l3"])
        #expect(codes(levels.candidates(after: levels.full)) == ["r3l3"])
        #expect(levels.describe(FineTuneCandidate(resolutionLevel: 1, fractionLevel: 2)) == "16px l=3/4")
    }
}
