import Foundation
@testable import IntermeshServer
import Testing

/// One-time sign-in links: once, and not after their lifetime.
struct SignInCodesTests {
    final class Clock: @unchecked Sendable {
        var now = Date(timeIntervalSince1970: 0)
    }

    @Test func aCodeWorksOnceAndNotPastItsLifetime() async {
        let clock = Clock()
        let codes = SignInCodes(now: { clock.now })
        let code = await codes.mint(token: "imt_a_b")
        #expect(code.count == 48)
        #expect(await codes.redeem("nope") == nil)
        #expect(await codes.redeem(code) == "imt_a_b")
        #expect(await codes.redeem(code) == nil, "used once")
        let late = await codes.mint(token: "imt_c_d")
        clock.now = clock.now.addingTimeInterval(SignInCodes.lifetime + 1)
        #expect(await codes.redeem(late) == nil, "expired")
    }

    @Test func atMostCapacityCodesWaitAndTheOldestGoesFirst() async {
        let clock = Clock()
        let codes = SignInCodes(now: { clock.now })
        let first = await codes.mint(token: "first")
        for index in 0..<SignInCodes.capacity {
            clock.now = clock.now.addingTimeInterval(1)
            _ = await codes.mint(token: "t\(index)")
        }
        #expect(await codes.redeem(first) == nil)
    }
}
