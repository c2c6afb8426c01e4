// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@testable import Vistalid

/// The HTTP stack is the platform's: ``URLSessionTransport`` against the testbed's misbehaving
/// server (`hostile_url`), and Swift transports that throw.
final class TransportTests: XCTestCase {
    /// Records what the library asked for and how much came back.
    final class Recording: HttpTransport, @unchecked Sendable {
        // @unchecked: the tests make one request at a time.
        let inner = URLSessionTransport()
        var requests: [HttpRequest] = []
        var bodySizes: [Int] = []
        func send(request: HttpRequest) async throws -> HttpResponse {
            requests.append(request)
            let r = try await inner.send(request: request)
            bodySizes.append(r.body.count)
            return r
        }
    }

    /// A transport that always throws `failure`.
    final class Throwing: HttpTransport, @unchecked Sendable {
        // @unchecked: `failure` is immutable after init.
        let failure: Error
        init(_ failure: Error) { self.failure = failure }
        func send(request: HttpRequest) async throws -> HttpResponse { throw failure }
    }

    private func hits() async throws -> Int {
        let (data, _) = try await fetch(URLRequest(url: URL(string: Fixture.shared.hostile_url + "/hits")!))
        return Int(String(decoding: data, as: UTF8.self)) ?? -1
    }

    func testRedirectsAreNeverFollowed() async throws {
        let base = Fixture.shared.hostile_url
        let before = try await hits()
        let t = Recording()
        do {
            _ = try await fetchIssuerKeys(from: base + "/redirect", transport: t)
            XCTFail("a redirect must not be followed")
        } catch VistalidError.Server(let status, _) {
            XCTAssertEqual(status, 302)
        }
        let afterRedirect = try await hits()
        XCTAssertEqual(afterRedirect, before, "the redirect target must not be contacted")
        // Control: the target itself answers and counts.
        _ = try await fetchIssuerKeys(from: base + "/target", transport: t)
        let afterTarget = try await hits()
        XCTAssertEqual(afterTarget, before + 1)
        XCTAssertEqual(t.requests.first?.method, "GET")
        XCTAssertEqual(t.requests.first?.url, base + "/redirect/qr/issuer-keys")
    }

    func testAnOversizedBodyIsCutAtTheBoundAndRefused() async throws {
        let t = Recording()
        do {
            _ = try await fetchIssuerKeys(from: Fixture.shared.hostile_url + "/huge", transport: t)
            XCTFail("an oversized answer must be refused")
        } catch let e as VistalidError {
            if case .Server(_, _) = e { XCTFail("\(e)") }
        }
        let bound = Int(t.requests.first?.maxResponseBytes ?? 0)
        XCTAssertEqual(bound, 1 << 20)
        XCTAssertEqual(t.bodySizes, [bound + 1], "keeps exactly one byte past the bound")
    }

    func testRefusedConnectionIsARetryableNetworkError() async throws {
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        do {
            _ = try await fetchIssuerKeys(from: "http://127.0.0.1:9")
            XCTFail("nothing listens on port 9")
        } catch VistalidError.Network(let retryable) {
            XCTAssertTrue(retryable)
        }
    }

    func testThrowingSwiftTransportsGiveTypedErrorsNotACrash() async throws {
        struct Boom: Error {}
        let cases: [(Error, Bool)] = [
            (VistalidError.Network(retryable: true), true),
            (VistalidError.Network(retryable: false), false),
            (Boom(), false),
        ]
        for (failure, retryable) in cases {
            let w = try await openTestWallet(
                at: try tempDir(), keystore: MemoryKeystore(), transport: Throwing(failure))
            do {
                _ = try await w.enrol(serverUrl: Fixture.shared.base_url, activationCode: "ABCDEFGH", pin: "204862")
                XCTFail("the transport throws")
            } catch VistalidError.Network(let r) {
                XCTAssertEqual(r, retryable, "\(failure)")
            }
            XCTAssertEqual(try w.accounts().count, 0)
        }
    }
}
