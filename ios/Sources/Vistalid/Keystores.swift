// SPDX-License-Identifier: Apache-2.0
import Foundation

extension PlatformKeystore {
    /// Runs this keystore once through the Rust bridge the wallet uses (one PRF call on
    /// `probeInput` and the hardware flag) and reports what it saw. It makes no hardware key.
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

/// A ``PlatformKeystore`` with the PRF only: it has no hardware keys, so `attest` and
/// `signAttested` answer `nil` ("not supported") and `deleteAttested` has nothing to delete, as
/// core's software keystores do. The wallet then enrols without an attestation, which a server
/// accepts only where its policy lets unattested keystores enrol (desktop, tests).
public protocol PrfOnlyKeystore: PlatformKeystore {}

extension PrfOnlyKeystore {
    /// Always `nil`: no hardware keys.
    public func attest(alias: String, challenge: Data) throws -> DeviceAttestation? { nil }

    /// Always `nil`: no hardware keys.
    public func signAttested(alias: String, message: Data) throws -> HardwareSignature? { nil }

    /// Nothing to delete.
    public func deleteAttested(alias: String) throws {}
}
