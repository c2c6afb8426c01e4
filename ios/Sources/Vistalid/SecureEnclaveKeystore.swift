// SPDX-License-Identifier: Apache-2.0
#if canImport(Security) && canImport(CryptoKit)
import CryptoKit
import Foundation
import Security

/// The wallet's ``PlatformKeystore`` on iPhone: a P-256 key-agreement key in the Secure
/// Enclave. `prf(input)` = HKDF-SHA256 of the ECDH shared secret between that key and the
/// curve point `hash_to_curve(input)` (RFC 9380, computed in Rust by ``hashToCurveP256``).
///
/// What it guarantees:
/// - The private key is created inside the Secure Enclave and never leaves it; the keychain
///   holds only the enclave's encrypted handle, stored with
///   `kSecAttrAccessibleWhenUnlockedThisDeviceOnly` (usable only while the phone is unlocked,
///   never synced nor restored to another device). So every PIN guess needs this phone.
/// - The point is `hash_to_curve(input)` with RFC 9380's suite `P256_XMD:SHA-256_SSWU_RO_` and
///   the tag `VISTALID-V02-CS01-with-P256_XMD:SHA-256_SSWU_RO_`, computed by the Rust library (tested there against the RFC's
///   vectors, and from Swift on Linux): nobody knows its discrete logarithm, and the map runs
///   in a time that does not depend on the input. Deriving a *scalar* from the input instead
///   would be broken: anyone could compute `scalar · publicKey` without the enclave. Swift
///   does only the enclave ECDH and the HKDF.
/// - Hardware keys (ADR 0001) are App Attest keys (``AppAttestCapability``): attested once at
///   enrolment, they co-sign every approval with an assertion whose counter the server checks.
/// - Failures are typed: a locked phone gives ``VistalidError/KeystoreUnavailable(reason:)``,
///   an enclave handle that no longer opens gives ``VistalidError/KeyInvalidated``.
///
/// Format: this is the second construction (`v2` HKDF salt, `V02` tag). The first one found
/// the point by try-and-increment in Swift, so its PRF outputs differ and a wallet written
/// with it does not open here. That is acceptable because
/// no wallet was ever deployed with the first one; on a test device, wipe and enrol again.
///
/// Apple platforms only (iOS 16, macOS 13); it is not compiled on Linux, where this package's
/// tests run, and the Secure Enclave does not exist in the iOS simulator: test it on a device.
public final class SecureEnclaveKeystore: PlatformKeystore, @unchecked Sendable {
    // @unchecked: the only mutable state is the keychain, and every access to it holds `lock`.
    private let service: String
    private let account: String
    private let lock = NSLock()
    #if canImport(DeviceCheck)
    private let appAttest: AppAttestCapability
    #endif

    private static let prfSalt = Data("vistalid/secure-enclave-prf/v2".utf8)
    /// The RFC 9380 domain separation tag of the input point (section 3.1's format).
    private static let hashToCurveTag = Data("VISTALID-V02-CS01-with-P256_XMD:SHA-256_SSWU_RO_".utf8)

    /// A keystore whose enclave key handle is the keychain item `service`/`account`; one per
    /// wallet. Its hardware keys are App Attest keys whose ids live under the keychain service
    /// `service` + `.appattest`.
    public init(service: String = "fr.vistalid.vault", account: String = "prf-key") {
        self.service = service
        self.account = account
        #if canImport(DeviceCheck)
        self.appAttest = AppAttestCapability(service: service + ".appattest")
        #endif
    }

    /// 32 bytes: HKDF-SHA256 (salt fixed, info = `input`) of ECDH(enclave key,
    /// hash_to_curve(`input`)). Creates the enclave key on first use.
    public func prf(input: Data) throws -> Data {
        let key = try privateKey()
        let point = try Self.inputPoint(input)
        let shared: SharedSecret
        do {
            shared = try key.sharedSecretFromKeyAgreement(with: point)
        } catch {
            throw VistalidError.KeystoreUnavailable(reason: "Secure Enclave: \(type(of: error))")
        }
        let out = shared.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: Self.prfSalt, sharedInfo: input, outputByteCount: 32)
        return out.withUnsafeBytes { Data($0) }
    }

    /// Deletes the enclave key handle (crypto-erase); deleting a missing key succeeds.
    public func delete() throws {
        lock.lock()
        defer { lock.unlock() }
        let status = SecItemDelete(baseQuery() as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw Self.keychainError(status)
        }
    }

    /// The account's hardware key through App Attest (``AppAttestCapability``); `nil` where
    /// App Attest is not available (the simulator, or no DeviceCheck).
    public func attest(alias: String, challenge: Data) throws -> DeviceAttestation? {
        #if canImport(DeviceCheck)
        return try appAttest.attest(alias: alias, challenge: challenge)
        #else
        return nil
        #endif
    }

    /// An App Attest assertion over `message` by the hardware key `alias`; `nil` where App
    /// Attest is not available.
    public func signAttested(alias: String, message: Data) throws -> HardwareSignature? {
        #if canImport(DeviceCheck)
        return try appAttest.signAttested(alias: alias, message: message)
        #else
        return nil
        #endif
    }

    /// Forgets the hardware key `alias` (App Attest has no key deletion; see
    /// ``AppAttestCapability/deleteAttested(alias:)``).
    public func deleteAttested(alias: String) throws {
        #if canImport(DeviceCheck)
        try appAttest.deleteAttested(alias: alias)
        #endif
    }

    /// Whether this device has a Secure Enclave (false in the simulator).
    public func isHardwareBacked() -> Bool { SecureEnclave.isAvailable }

    // MARK: - Key handle in the keychain

    private func privateKey() throws -> SecureEnclave.P256.KeyAgreement.PrivateKey {
        guard SecureEnclave.isAvailable else {
            throw VistalidError.KeystoreUnavailable(reason: "no Secure Enclave on this device")
        }
        lock.lock()
        defer { lock.unlock() }
        if let handle = try loadHandle() {
            do {
                return try SecureEnclave.P256.KeyAgreement.PrivateKey(dataRepresentation: handle)
            } catch {
                throw VistalidError.KeyInvalidated
            }
        }
        var cfError: Unmanaged<CFError>?
        guard let access = SecAccessControlCreateWithFlags(
            kCFAllocatorDefault, kSecAttrAccessibleWhenUnlockedThisDeviceOnly,
            .privateKeyUsage, &cfError)
        else {
            throw VistalidError.Internal(reason: "SecAccessControlCreateWithFlags failed")
        }
        let key: SecureEnclave.P256.KeyAgreement.PrivateKey
        do {
            key = try SecureEnclave.P256.KeyAgreement.PrivateKey(accessControl: access)
        } catch {
            throw VistalidError.KeystoreUnavailable(reason: "Secure Enclave: \(type(of: error))")
        }
        var add = baseQuery()
        add[kSecValueData as String] = key.dataRepresentation
        add[kSecAttrAccessible as String] = kSecAttrAccessibleWhenUnlockedThisDeviceOnly
        let status = SecItemAdd(add as CFDictionary, nil)
        guard status == errSecSuccess else { throw Self.keychainError(status) }
        return key
    }

    private func loadHandle() throws -> Data? {
        var query = baseQuery()
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess: return item as? Data
        case errSecItemNotFound: return nil
        default: throw Self.keychainError(status)
        }
    }

    private func baseQuery() -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    private static func keychainError(_ status: OSStatus) -> VistalidError {
        status == errSecInteractionNotAllowed
            ? .KeystoreUnavailable(reason: "device locked")
            : .KeystoreUnavailable(reason: "keychain status \(status)")
    }

    // MARK: - Input point

    /// `hash_to_curve(input)` as a CryptoKit public key. The Rust library always returns a
    /// valid uncompressed point (`0x04 || x || y`); a refusal here would be a bug.
    private static func inputPoint(_ input: Data) throws -> P256.KeyAgreement.PublicKey {
        let sec1 = try hashToCurveP256(message: input, domainTag: hashToCurveTag)
        do {
            return try P256.KeyAgreement.PublicKey(x963Representation: sec1)
        } catch {
            throw VistalidError.Internal(reason: "hash-to-curve point refused by CryptoKit")
        }
    }
}
#endif
