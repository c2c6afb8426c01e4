// SPDX-License-Identifier: Apache-2.0
import Foundation

extension PlatformKeystore {
    /// Runs this keystore once through the Rust bridge the wallet uses (one PRF call on
    /// `probeInput`, the attestation and the hardware flag) and reports what it saw.
    ///
    /// Runs off the caller's actor: Secure Enclave operations can take tens of milliseconds
    /// and must not block the main thread.
    ///
    /// - Throws: whatever the keystore threw, as a ``VistalidError``; for example
    ///   ``VistalidError/KeystoreUnavailable(reason:)`` while the device is locked.
    public func describe(
        probeInput: Data = Data("vistalid-keystore-probe".utf8)
    ) async throws -> KeystoreDescription {
        try await Task.detached(priority: .userInitiated) {
            try describeKeystore(keystore: self, probeInput: probeInput)
        }.value
    }
}
