// SPDX-License-Identifier: Apache-2.0
#if canImport(DeviceCheck) && canImport(CryptoKit) && canImport(Security)
import CryptoKit
import DeviceCheck
import Foundation
import Security

/// The wallet's hardware keys on iPhone (ADR 0001): App Attest keys of `DCAppAttestService`.
///
/// What it guarantees:
/// - ``attest(alias:challenge:)`` generates a new App Attest key and attests it with
///   `clientDataHash` = the wallet's 32-byte challenge; Apple's attestation object proves to the
///   server that the key is in this device's Secure Enclave and belongs to this app (team and
///   bundle id) in this environment.
/// - ``signAttested(alias:message:)`` answers an assertion with `clientDataHash` =
///   SHA-256(`message`); its counter rises with every assertion, which the server checks.
/// - Key ids are kept per alias in the keychain (generic password, service `service`, account
///   = the alias, `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`), not in UserDefaults:
///   UserDefaults go into backups and device-to-device transfers, so a wallet restored on
///   another phone would name an App Attest key that phone does not have; a `ThisDeviceOnly`
///   keychain item stays with the device, as the key itself does. The key id is not a
///   secret.
/// - Where App Attest is unavailable (`isSupported` is false: the simulator, some Macs) the
///   capability answers `nil`, as a keystore without hardware keys does.
///
/// The DeviceCheck calls complete on another queue; these methods wait for them, which is
/// fine because the wallet calls its keystore on a background thread (Rust's blocking pool),
/// never on the main thread. `attestKey` contacts Apple's servers: without network it throws
/// ``VistalidError/KeystoreUnavailable(reason:)``.
///
/// Apple platforms only; not compiled on Linux, and App Attest does not run in the
/// simulator: test it on a device.
public final class AppAttestCapability: @unchecked Sendable {
    // @unchecked: the only mutable state is the keychain, and every access to it holds `lock`.
    private let service: String
    private let lock = NSLock()

    /// A capability whose key ids live under the keychain service `service`.
    public init(service: String = "fr.vistalid.vault.appattest") {
        self.service = service
    }

    /// Makes and attests a new App Attest key for `alias` (replacing the alias's key id);
    /// `nil` when App Attest is unavailable.
    public func attest(alias: String, challenge: Data) throws -> DeviceAttestation? {
        let appAttest = DCAppAttestService.shared
        guard appAttest.isSupported else { return nil }
        let keyId: String = try Self.wait { appAttest.generateKey(completionHandler: $0) }
        let object: Data = try Self.wait {
            appAttest.attestKey(keyId, clientDataHash: challenge, completionHandler: $0)
        }
        guard let keyIdBytes = Data(base64Encoded: keyId) else {
            throw VistalidError.Internal(reason: "App Attest key id is not base64")
        }
        try store(keyId: keyId, alias: alias)
        return .appleAppAttest(keyId: keyIdBytes, attestationObject: object)
    }

    /// An assertion by `alias`'s key over SHA-256(`message`); `nil` when App Attest is
    /// unavailable. Throws ``VistalidError/KeyInvalidated`` when the alias has no key.
    public func signAttested(alias: String, message: Data) throws -> HardwareSignature? {
        let appAttest = DCAppAttestService.shared
        guard appAttest.isSupported else { return nil }
        guard let keyId = try load(alias: alias) else { throw VistalidError.KeyInvalidated }
        let hash = Data(SHA256.hash(data: message))
        let assertion: Data = try Self.wait {
            appAttest.generateAssertion(keyId, clientDataHash: hash, completionHandler: $0)
        }
        return .appleAppAttest(assertion: assertion)
    }

    /// Forgets `alias`'s key id. App Attest offers no way to delete a key; without its id the
    /// key can never be used again. Forgetting a missing alias succeeds.
    public func deleteAttested(alias: String) throws {
        lock.lock()
        defer { lock.unlock() }
        let status = SecItemDelete(query(alias: alias) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw VistalidError.KeystoreUnavailable(reason: "keychain status \(status)")
        }
    }

    // MARK: - Key ids in the keychain

    private func store(keyId: String, alias: String) throws {
        lock.lock()
        defer { lock.unlock() }
        _ = SecItemDelete(query(alias: alias) as CFDictionary)
        var add = query(alias: alias)
        add[kSecValueData as String] = Data(keyId.utf8)
        add[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(add as CFDictionary, nil)
        guard status == errSecSuccess else {
            throw VistalidError.KeystoreUnavailable(reason: "keychain status \(status)")
        }
    }

    private func load(alias: String) throws -> String? {
        lock.lock()
        defer { lock.unlock() }
        var q = query(alias: alias)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        switch SecItemCopyMatching(q as CFDictionary, &item) {
        case errSecSuccess:
            return (item as? Data).flatMap { String(data: $0, encoding: .utf8) }
        case errSecItemNotFound:
            return nil
        case let status:
            throw VistalidError.KeystoreUnavailable(reason: "keychain status \(status)")
        }
    }

    private func query(alias: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: alias,
        ]
    }

    // MARK: - Waiting for DeviceCheck

    /// The outcome of one completion handler.
    private final class Outcome<T>: @unchecked Sendable {
        // @unchecked: written once by the completion handler before `done` is signalled, read
        // after the wait.
        var value: T?
        var error: Error?
        let done = DispatchSemaphore(value: 0)
    }

    /// Starts a DeviceCheck call and waits for its completion handler.
    private static func wait<T>(
        _ start: (@escaping @Sendable (T?, Error?) -> Void) -> Void
    ) throws -> T {
        let outcome = Outcome<T>()
        start { value, error in
            outcome.value = value
            outcome.error = error
            outcome.done.signal()
        }
        outcome.done.wait()
        if let value = outcome.value { return value }
        throw mapped(outcome.error)
    }

    /// The typed error for a DeviceCheck failure (its code, never its text).
    private static func mapped(_ error: Error?) -> VistalidError {
        guard let error = error as? DCError else {
            return .KeystoreUnavailable(reason: "App Attest gave no result")
        }
        switch error.code {
        case .invalidKey: return .KeyInvalidated
        case .serverUnavailable: return .KeystoreUnavailable(reason: "App Attest server unavailable")
        case .featureUnsupported: return .KeystoreUnavailable(reason: "App Attest unsupported")
        case .invalidInput: return .InvalidInput(reason: "App Attest refused its input")
        default: return .KeystoreUnavailable(reason: "App Attest error \(error.code.rawValue)")
        }
    }
}
#endif
