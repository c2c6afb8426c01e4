// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import Vistalid

/// The challenge key's rollover through the real bindings (issue 19) against the testbed: the
/// server's challenge key rotates (the `rotate-key` admin command), a man in the middle's
/// statement (forged by the testbed, not signed by the pinned key) is refused with
/// `KeyRolloverRefused` and moves nothing, then the wallet refreshes its pinned key from the
/// server's true statement and approves a login signed by the new key.
final class KeyRolloverTests: XCTestCase {
    private let fixture = Fixture.shared

    /// The platform transport, counting rollover requests; with `forge` set it swaps their answer.
    private final class Watched: HttpTransport, @unchecked Sendable {
        private let inner = URLSessionTransport()
        private let lock = NSLock()
        private var forging = false
        private var count = 0
        let keysUrl: String

        init(keysUrl: String) { self.keysUrl = keysUrl }

        var forge: Bool {
            get { lock.withLock { forging } }
            set { lock.withLock { forging = newValue } }
        }
        var rollovers: Int { lock.withLock { count } }

        func send(request: HttpRequest) async throws -> HttpResponse {
            guard request.url.contains("/device/key-rollover/") else { return try await inner.send(request: request) }
            let forged = lock.withLock { () -> Bool in
                count += 1
                return forging
            }
            guard forged else { return try await inner.send(request: request) }
            let (status, body) = try await testbed(keysUrl, "GET", "/forged-rollover")
            guard status == 200 else { throw FixtureError.http("forged-rollover: \(status)") }
            return HttpResponse(status: 200, body: body)
        }
    }

    func testTheWalletFollowsARotatedKeyAndRefusesAForgedRollover() async throws {
        let p = fixture.practitioners[14]
        let transport = Watched(keysUrl: fixture.keys_url)
        let w = try await openTestWallet(at: tempDir(), keystore: MemoryKeystore(), transport: transport)
        let account = try await w.enrol(serverUrl: fixture.base_url, activationCode: p.activation_code, pin: "204862")
        let (status, rotated) = try await testbed(fixture.keys_url, "POST", "/rotate-challenge-key")
        XCTAssertEqual(status, 200, String(decoding: rotated, as: UTF8.self))
        let rp = fixture.relyingParty(fixture.type_client)
        let (authReqId, dynamicCode) = try await rp.ciba(p.rpps, "Après la rotation")

        // A statement not signed by the pinned key: refused, typed, and nothing moves.
        transport.forge = true
        do {
            _ = try await w.updateServerKey(accountId: account.accountId)
            XCTFail("a forged rollover was accepted")
        } catch VistalidError.KeyRolloverRefused(let reason) {
            XCTAssertTrue(reason.contains("not signed by the pinned"), reason)
        }
        let refused = try await w.fetchChallenges(waitingUpTo: 0)
        XCTAssertTrue(refused.challenges.isEmpty, "a challenge of the new key verified under a forged rollover")
        XCTAssertEqual(refused.rejectedCount, 1)

        // The server's own statement: the pin moves, and the new key's challenge verifies.
        transport.forge = false
        let moved = try await w.updateServerKey(accountId: account.accountId)
        XCTAssertTrue(moved, "the pin moved to the new key")
        let fetched = try await w.fetchChallenges(waitingUpTo: 5)
        XCTAssertEqual(fetched.challenges.count, 1)
        let ch = fetched.challenges[0]
        XCTAssertEqual(ch.bindingMessage, "Après la rotation")
        let outcome = try await w.approve(ch, pin: "204862", code: dynamicCode)
        XCTAssertEqual(outcome, .approved)
        let token = try await rp.token(authReqId)
        XCTAssertEqual(token.0, 200)
        let again = try await w.updateServerKey(accountId: account.accountId)
        XCTAssertFalse(again, "nothing newer than the new key")
        XCTAssertEqual(transport.rollovers, 5, "forged refresh 1, refused fetch 1, true refresh 2 (the hop, then none newer), last refresh 1")
    }
}

/// One call to the testbed's key-rollover server: HTTP status and body.
private func testbed(_ keysUrl: String, _ method: String, _ path: String) async throws -> (Int, Data) {
    var request = URLRequest(url: URL(string: keysUrl + path)!)
    request.httpMethod = method
    let (data, response) = try await fetch(request)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
}
