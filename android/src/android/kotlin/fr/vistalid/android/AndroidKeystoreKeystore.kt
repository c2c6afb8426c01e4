// SPDX-License-Identifier: Apache-2.0
package fr.vistalid.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyInfo
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import fr.vistalid.HardwareKeys
import fr.vistalid.ffi.DeviceAttestation
import fr.vistalid.ffi.HardwareSignature
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.VistalidException
import java.security.GeneralSecurityException
import java.security.KeyPairGenerator
import java.security.KeyStore
import java.security.PrivateKey
import java.security.ProviderException
import java.security.spec.ECGenParameterSpec
import javax.crypto.KeyGenerator
import javax.crypto.Mac
import javax.crypto.SecretKey
import javax.crypto.SecretKeyFactory

/**
 * The wallet's [PlatformKeystore] on Android: an HMAC-SHA256 key in the Android Keystore,
 * in StrongBox when the phone has one, else in the TEE; and one attested P-256 signing key per
 * account (ADR 0001), which co-signs every approval.
 *
 * What it guarantees:
 * - The key is generated inside the secure hardware and cannot be exported: Android Keystore
 *   keys never leave it, so a copied wallet file cannot be brute-forced off the phone (every
 *   PIN guess needs [prf], which needs this phone).
 * - [setUnlockedDeviceRequired][KeyGenParameterSpec.Builder.setUnlockedDeviceRequired]: the key
 *   works only while the phone is unlocked.
 * - No backup: Keystore keys are not part of Android backups, and [delete] is a crypto-erase
 *   of the wallet (its files are useless without the key). Apps should also exclude the
 *   wallet files from Auto Backup.
 * - Hardware keys ([attest]): a P-256 signing key generated in StrongBox (else the TEE) with
 *   [setAttestationChallenge][KeyGenParameterSpec.Builder.setAttestationChallenge], so the
 *   certificate chain the Keystore returns proves to the server that the key lives in this
 *   phone's secure hardware, was made by this app for this enrolment, and what the boot state
 *   is. [signAttested] signs with it (SHA256withECDSA, DER). Their Keystore aliases are
 *   [hardwareKeyPrefix] followed by the wallet's alias.
 * - Failures are typed: a locked phone or busy hardware gives
 *   [VistalidException.KeystoreUnavailable], a key the platform invalidated gives
 *   [VistalidException.KeyInvalidated].
 *
 * Needs Android 9 (API 28) or later (StrongBox, unlocked-device-required). It is compiled
 * against the Android 14 API in this repository's CI (Maven profile `android-api`) but cannot
 * run there: there is no device or emulator; test it on a phone. The JVM tests cover the parts
 * in [HardwareKeys] (aliases, chain encoding, signature format, error mapping); key
 * generation, StrongBox fallback and the chain's content need a device (an emulator's chain
 * ends in Google's software root, which the server refuses).
 *
 * @param alias Keystore alias of the PRF key; one per wallet.
 * @param hardwareKeyPrefix prefix of the hardware keys' Keystore aliases; one per wallet.
 */
public class AndroidKeystoreKeystore(
    private val alias: String = "fr.vistalid.vault.prf",
    private val hardwareKeyPrefix: String = "fr.vistalid.hardware.",
) : PlatformKeystore {
    private val keyStore: KeyStore by lazy { KeyStore.getInstance(PROVIDER).apply { load(null) } }

    /** HMAC-SHA256 of [input] under the hardware key (created on first use); 32 bytes. */
    @Throws(VistalidException::class)
    override fun prf(input: ByteArray): ByteArray = mapped {
        val mac = Mac.getInstance(KeyProperties.KEY_ALGORITHM_HMAC_SHA256)
        mac.init(key())
        mac.doFinal(input)
    }

    /** Deletes the hardware key (crypto-erase); deleting a missing key succeeds. */
    @Throws(VistalidException::class)
    override fun delete(): Unit = mapped {
        if (keyStore.containsAlias(alias)) keyStore.deleteEntry(alias)
    }

    /**
     * Generates the hardware key [alias] (replacing one of that name) for [challenge], in
     * StrongBox when present, else in the TEE, and returns its certificate chain, leaf first.
     */
    @Throws(VistalidException::class)
    override fun attest(alias: String, challenge: ByteArray): DeviceAttestation = mapped {
        val name = HardwareKeys.keystoreAlias(hardwareKeyPrefix, alias)
        if (keyStore.containsAlias(name)) keyStore.deleteEntry(name)
        try {
            generateAttested(name, challenge, strongBox = true)
        } catch (e: StrongBoxUnavailableException) {
            generateAttested(name, challenge, strongBox = false)
        }
        DeviceAttestation.AndroidKey(HardwareKeys.encodeChain(keyStore.getCertificateChain(name)))
    }

    /** SHA256withECDSA of [message] by the hardware key [alias]; DER. */
    @Throws(VistalidException::class)
    override fun signAttested(alias: String, message: ByteArray): HardwareSignature = mapped {
        val name = HardwareKeys.keystoreAlias(hardwareKeyPrefix, alias)
        val key = keyStore.getKey(name, null) as PrivateKey? ?: throw VistalidException.KeyInvalidated()
        HardwareSignature.AndroidKey(HardwareKeys.signEcdsaSha256(key, message))
    }

    /** Deletes the hardware key [alias]; deleting a missing key succeeds. */
    @Throws(VistalidException::class)
    override fun deleteAttested(alias: String): Unit = mapped {
        val name = HardwareKeys.keystoreAlias(hardwareKeyPrefix, alias)
        if (keyStore.containsAlias(name)) keyStore.deleteEntry(name)
    }

    /** Whether the key is in StrongBox or the TEE (false for a software-only Keystore). */
    override fun isHardwareBacked(): Boolean = try {
        val key = key()
        val info = SecretKeyFactory.getInstance(key.algorithm, PROVIDER)
            .getKeySpec(key, KeyInfo::class.java) as KeyInfo
        if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.S) {
            info.securityLevel == KeyProperties.SECURITY_LEVEL_STRONGBOX ||
                info.securityLevel == KeyProperties.SECURITY_LEVEL_TRUSTED_ENVIRONMENT
        } else {
            @Suppress("DEPRECATION")
            info.isInsideSecureHardware
        }
    } catch (e: GeneralSecurityException) {
        false
    } catch (e: ProviderException) {
        false
    }

    /** The existing key, or a new one (StrongBox first, TEE when there is no StrongBox). */
    private fun key(): SecretKey =
        (keyStore.getKey(alias, null) as SecretKey?)
            ?: try {
                generate(strongBox = true)
            } catch (e: StrongBoxUnavailableException) {
                generate(strongBox = false)
            }

    private fun generate(strongBox: Boolean): SecretKey {
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_SIGN)
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setIsStrongBoxBacked(strongBox)
            .setUnlockedDeviceRequired(true)
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_HMAC_SHA256, PROVIDER)
            .apply { init(spec) }
            .generateKey()
    }

    private fun generateAttested(name: String, challenge: ByteArray, strongBox: Boolean) {
        val spec = KeyGenParameterSpec.Builder(name, KeyProperties.PURPOSE_SIGN)
            .setAlgorithmParameterSpec(ECGenParameterSpec("secp256r1"))
            .setDigests(KeyProperties.DIGEST_SHA256)
            .setAttestationChallenge(challenge)
            .setIsStrongBoxBacked(strongBox)
            .setUnlockedDeviceRequired(true)
            .build()
        KeyPairGenerator.getInstance(KeyProperties.KEY_ALGORITHM_EC, PROVIDER)
            .apply { initialize(spec) }
            .generateKeyPair()
    }

    /** Runs [block], turning platform exceptions into typed [VistalidException]s. */
    private inline fun <T> mapped(block: () -> T): T = try {
        block()
    } catch (e: GeneralSecurityException) {
        throw HardwareKeys.mapFailure(e)
    } catch (e: ProviderException) {
        throw HardwareKeys.mapFailure(e)
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
    }
}
