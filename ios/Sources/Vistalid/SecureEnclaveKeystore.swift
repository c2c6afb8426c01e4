// SPDX-License-Identifier: Apache-2.0
#if canImport(Security) && canImport(CryptoKit)
import CryptoKit
import Foundation
import Security

/// The wallet's ``PlatformKeystore`` on iPhone: a P-256 key-agreement key in the Secure
/// Enclave. `prf(input)` = HKDF-SHA256 of the ECDH shared secret between that key and a curve
/// point derived from `input`.
///
/// What it guarantees:
/// - The private key is created inside the Secure Enclave and never leaves it; the keychain
///   holds only the enclave's encrypted handle, stored with
///   `kSecAttrAccessibleWhenUnlockedThisDeviceOnly` (usable only while the phone is unlocked,
///   never synced nor restored to another device). So every PIN guess needs this phone.
/// - The point is derived from `input` by hashing to the curve (try-and-increment on the x
///   coordinate), so nobody knows its discrete logarithm. Deriving a *scalar* from the input
///   instead would be broken: anyone could compute `scalar · publicKey` without the enclave.
/// - Failures are typed: a locked phone gives ``VistalidError/KeystoreUnavailable(reason:)``,
///   an enclave handle that no longer opens gives ``VistalidError/KeyInvalidated``.
///
/// Residual risk: the number of hash-to-curve tries (1 on average, 2 one time in four)
/// depends on the input, so the time of one call leaks a little about it to a local observer.
///
/// Apple platforms only (iOS 16, macOS 13); it is not compiled on Linux, where this package's
/// tests run, and the Secure Enclave does not exist in the iOS simulator: test it on a device.
public final class SecureEnclaveKeystore: PlatformKeystore, @unchecked Sendable {
    // @unchecked: the only mutable state is the keychain, and every access to it holds `lock`.
    private let service: String
    private let account: String
    private let lock = NSLock()

    private static let prfSalt = Data("vistalid/secure-enclave-prf/v1".utf8)
    private static let hashToCurveTag = Data("vistalid/secure-enclave-prf/h2c/v1".utf8)

    /// A keystore whose enclave key handle is the keychain item `service`/`account`; one per
    /// wallet.
    public init(service: String = "fr.vistalid.vault", account: String = "prf-key") {
        self.service = service
        self.account = account
    }

    /// 32 bytes: HKDF-SHA256 (salt fixed, info = `input`) of ECDH(enclave key, H(`input`)).
    /// Creates the enclave key on first use.
    public func prf(input: Data) throws -> Data {
        let key = try privateKey()
        let point = try Self.hashToCurve(input)
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

    /// Always `nil`: the Secure Enclave gives no per-key attestation (App Attest is a
    /// separate service for the app, not for this key).
    public func attestation() throws -> Data? { nil }

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

    // MARK: - Hash to curve

    /// A P-256 point whose discrete logarithm nobody knows: x = SHA-256(tag ‖ counter ‖ input)
    /// for the first counter giving a valid compressed point (about half of them do).
    private static func hashToCurve(_ input: Data) throws -> P256.KeyAgreement.PublicKey {
        for counter in UInt32(0)..<256 {
            var hash = SHA256()
            hash.update(data: hashToCurveTag)
            withUnsafeBytes(of: counter.bigEndian) { hash.update(bufferPointer: $0) }
            hash.update(data: input)
            let compressed = Data([0x02]) + Data(hash.finalize())
            if let point = try? P256.KeyAgreement.PublicKey(compressedRepresentation: compressed) {
                return point
            }
        }
        // 256 misses in a row happen with probability 2^-256.
        throw VistalidError.Internal(reason: "hash to curve found no point")
    }
}
#endif
