// SPDX-License-Identifier: Apache-2.0
import Foundation
import XCTest

@testable import Vistalid

/// A test double with the shape of a real keystore: a 32-byte output that depends on a key
/// and the input (not a secure PRF; Linux has no CryptoKit), and a delete that destroys the key.
private final class RecordingKeystore: PrfOnlyKeystore, @unchecked Sendable {
    // @unchecked: tests call it from one thread at a time; `lock` guards the state anyway.
    private let lock = NSLock()
    private var key: [UInt8]? = (0..<32).map { _ in UInt8.random(in: 0...255) }
    private(set) var inputs: [Data] = []

    func prf(input: Data) throws -> Data {
        lock.lock()
        defer { lock.unlock() }
        inputs.append(input)
        guard let key else { throw VistalidError.KeyInvalidated }
        var out = key
        for (i, byte) in input.enumerated() { out[i % 32] = out[i % 32] &* 31 &+ byte }
        return Data(out)
    }

    func delete() throws {
        lock.lock()
        defer { lock.unlock() }
        key = nil
    }

    func isHardwareBacked() -> Bool { false }
}

/// A keystore whose PRF always throws `failure`.
private final class FailingKeystore: PrfOnlyKeystore, @unchecked Sendable {
    // @unchecked: `failure` is immutable after init.
    let failure: Error
    init(_ failure: Error) { self.failure = failure }
    func prf(input: Data) throws -> Data { throw failure }
    func delete() throws {}
    func isHardwareBacked() -> Bool { true }
}

private struct UnrelatedError: Error, CustomStringConvertible {
    var description: String { "Secure Enclave went away" }
}

final class PlatformKeystoreTests: XCTestCase {
    func testRustCallsTheSwiftKeystore() throws {
        let ks = RecordingKeystore()
        let d = try describeKeystore(keystore: ks, probeInput: Data("probe".utf8))
        XCTAssertEqual(d, KeystoreDescription(hardwareBacked: false, prfOutputLen: 32))
        XCTAssertEqual(ks.inputs, [Data("probe".utf8)])
    }

    func testAsyncDescribe() async throws {
        let d = try await RecordingKeystore().describe()
        XCTAssertEqual(d.prfOutputLen, 32)
    }

    func testTypedKeystoreErrorComesBackTyped() throws {
        XCTAssertThrowsError(
            try describeKeystore(keystore: FailingKeystore(VistalidError.KeystoreUnavailable(reason: "device locked")),
                                 probeInput: Data([1]))
        ) {
            XCTAssertEqual($0 as? VistalidError, .KeystoreUnavailable(reason: "device locked"))
        }
        let ks = RecordingKeystore()
        try ks.delete()
        XCTAssertThrowsError(try describeKeystore(keystore: ks, probeInput: Data([1]))) {
            XCTAssertEqual($0 as? VistalidError, .KeyInvalidated)
        }
    }

    func testUnexpectedSwiftErrorBecomesInternalNotACrash() {
        XCTAssertThrowsError(try describeKeystore(keystore: FailingKeystore(UnrelatedError()), probeInput: Data([1]))) {
            guard case VistalidError.Internal(let reason) = $0 else { return XCTFail("\($0)") }
            XCTAssertFalse(reason.isEmpty)
        }
    }

    func testAPrfOutputOfTheWrongLengthIsTypedAndSpendsNoCode() async throws {
        for length in [0, 31, 33] {
            let requests = Counter()
            // The production constructor: the length check is core's, for every keystore.
            let w = try await Wallet.open(
                at: try tempDir(), keystore: FixedLengthKeystore(length), deviceName: "Swift test",
                transport: CountingTransport(requests))
            do {
                _ = try await w.enrol(serverUrl: "https://idp.example.fr", activationCode: "ABCDEFGH", pin: "482915")
                XCTFail("expected InvalidKeystoreOutput")
            } catch VistalidError.InvalidKeystoreOutput(let got) {
                XCTAssertEqual(got, UInt32(length))
            }
            XCTAssertEqual(requests.value, 0, "no request: the activation code is not spent")
            XCTAssertTrue(try w.accounts().isEmpty)
        }
    }
}

/// A keystore whose PRF answers `length` bytes (a broken implementation).
private final class FixedLengthKeystore: PrfOnlyKeystore, @unchecked Sendable {
    // @unchecked: `length` is immutable after init.
    let length: Int
    init(_ length: Int) { self.length = length }
    func prf(input: Data) throws -> Data { Data(repeating: 7, count: length) }
    func delete() throws {}
    func isHardwareBacked() -> Bool { true }
}

/// A thread-safe request counter.
private final class Counter: @unchecked Sendable {
    // @unchecked: every access holds `lock`.
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
    func increment() { lock.lock(); count += 1; lock.unlock() }
}

/// A transport that counts requests and answers none.
private final class CountingTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: `counter` is immutable and thread-safe.
    let counter: Counter
    init(_ counter: Counter) { self.counter = counter }
    func send(request: HttpRequest) async throws -> HttpResponse {
        counter.increment()
        throw VistalidError.Network(retryable: false)
    }
}
