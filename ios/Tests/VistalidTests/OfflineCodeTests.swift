// SPDX-License-Identifier: Apache-2.0
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import XCTest

@testable import Vistalid

private let pin = "204862"
private let wrongPin = "975310"

/// The platform transport, refusing every request while `down` (the phone has no network).
private final class SwitchableTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: the flags are read and written under `lock`.
    private let lock = NSLock()
    private let real = URLSessionTransport()
    private var isDown = false
    private var refusedCount = 0
    var down: Bool {
        get { lock.lock(); defer { lock.unlock() }; return isDown }
        set { lock.lock(); defer { lock.unlock() }; isDown = newValue }
    }
    var refused: Int { lock.lock(); defer { lock.unlock() }; return refusedCount }

    func send(request: HttpRequest) async throws -> HttpResponse {
        if down {
            lock.lock(); refusedCount += 1; lock.unlock()
            throw VistalidError.Network(retryable: true)
        }
        return try await real.send(request: request)
    }
}

/// The offline code (issue 16) through the Swift bindings: after an enrolment with the
/// testbed (which offers the fallback), `offlineCode` gives 8 digits and the seconds they
/// stay valid with no network at all; a wrong PIN gives another code and costs no local try.
final class OfflineCodeTests: XCTestCase {
    func testOfflineCodeWorksWithoutTheNetworkAndAWrongPinGivesAnotherCode() async throws {
        let p = Fixture.shared.practitioners[13]
        let transport = SwitchableTransport()
        let w = try await openTestWallet(at: tempDir(), keystore: MemoryKeystore(), transport: transport)
        let account = try await w.enrol(serverUrl: Fixture.shared.base_url, activationCode: p.activation_code, pin: pin)
        transport.down = true
        var code = try await w.offlineCode(accountId: account.accountId, pin: pin)
        if code.validForSecs < 3 {
            try await Task.sleep(nanoseconds: 3_000_000_000)
            code = try await w.offlineCode(accountId: account.accountId, pin: pin)
        }
        XCTAssertEqual(code.code.count, 8)
        XCTAssertTrue(code.code.allSatisfy(\.isNumber))
        XCTAssertTrue((1...30).contains(code.validForSecs))
        let again = try await w.offlineCode(accountId: account.accountId, pin: pin)
        if again.validForSecs <= code.validForSecs {
            XCTAssertEqual(again.code, code.code, "the same step gives the same code")
        }
        let wrong = try await w.offlineCode(accountId: account.accountId, pin: wrongPin)
        XCTAssertNotEqual(wrong.code, code.code)
        XCTAssertEqual(try w.attemptsLeft(), 5)
        XCTAssertEqual(transport.refused, 0, "no request was even tried")
    }
}
