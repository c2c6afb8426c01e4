// SPDX-License-Identifier: Apache-2.0
package fr.vistalid.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyInfo
import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.KeyProperties
import android.security.keystore.StrongBoxUnavailableException
import android.security.keystore.UserNotAuthenticatedException
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.VistalidException
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.ProviderException
import javax.crypto.KeyGenerator
import javax.crypto.Mac
import javax.crypto.SecretKey
import javax.crypto.SecretKeyFactory

/**
 * The wallet's [PlatformKeystore] on Android: an HMAC-SHA256 key in the Android Keystore,
 * in StrongBox when the phone has one, else in the TEE.
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
 * - Failures are typed: a locked phone or busy hardware gives
 *   [VistalidException.KeystoreUnavailable], a key the platform invalidated gives
 *   [VistalidException.KeyInvalidated].
 *
 * Needs Android 9 (API 28) or later (StrongBox, unlocked-device-required). It is compiled
 * against the Android 14 API in this repository's CI (Maven profile `android-api`) but cannot
 * run there: there is no device or emulator; test it on a phone.
 *
 * @param alias Keystore alias of the key; one per wallet.
 */
public class AndroidKeystoreKeystore(
    private val alias: String = "fr.vistalid.vault.prf",
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
     * Always `null`: Android key attestation covers asymmetric keys only, and this key is an
     * HMAC key. (Attesting the account's signing key is a separate matter.)
     */
    override fun attestation(): ByteArray? = null

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

    /** Runs [block], turning platform exceptions into typed [VistalidException]s. */
    private inline fun <T> mapped(block: () -> T): T = try {
        block()
    } catch (e: KeyPermanentlyInvalidatedException) {
        throw VistalidException.KeyInvalidated()
    } catch (e: UserNotAuthenticatedException) {
        throw VistalidException.KeystoreUnavailable("device locked")
    } catch (e: GeneralSecurityException) {
        throw VistalidException.KeystoreUnavailable(e.javaClass.simpleName)
    } catch (e: ProviderException) {
        throw VistalidException.KeystoreUnavailable(e.javaClass.simpleName)
    }

    private companion object {
        const val PROVIDER = "AndroidKeyStore"
    }
}
