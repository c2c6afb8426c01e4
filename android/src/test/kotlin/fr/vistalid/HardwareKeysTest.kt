// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import android.security.keystore.KeyPermanentlyInvalidatedException
import android.security.keystore.UserNotAuthenticatedException
import fr.vistalid.ffi.DeviceAttestation
import fr.vistalid.ffi.HardwareSignature
import fr.vistalid.ffi.HttpRequest
import fr.vistalid.ffi.HttpResponse
import fr.vistalid.ffi.HttpTransport
import fr.vistalid.ffi.VistalidException
import java.nio.file.Files
import java.security.InvalidKeyException
import java.security.KeyPairGenerator
import java.security.ProviderException
import java.security.PublicKey
import java.security.Signature
import java.security.cert.Certificate
import java.security.spec.ECGenParameterSpec
import java.util.Base64
import java.util.Collections
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertIs
import kotlin.test.assertSame
import kotlin.test.assertTrue

/** A certificate whose DER is [der] (nothing else is read). */
private class FakeCertificate(private val der: ByteArray) : Certificate("X.509") {
    override fun getEncoded(): ByteArray = der
    override fun verify(key: PublicKey) = Unit
    override fun verify(key: PublicKey, sigProvider: String) = Unit
    override fun toString(): String = "FakeCertificate"
    override fun getPublicKey(): PublicKey = error("not used")
}

/**
 * A Kotlin keystore with hardware keys in the Android shape (a fake chain: the challenge, then
 * a marker), recording what Rust asked.
 */
private class RecordingHardwareKeystore : PrfOnlyKeystore {
    val attested: MutableList<Pair<String, ByteArray>> = Collections.synchronizedList(mutableListOf())
    val deleted: MutableList<String> = Collections.synchronizedList(mutableListOf())

    override fun prf(input: ByteArray): ByteArray = ByteArray(32) { (input.size + it).toByte() }
    override fun delete() = Unit
    override fun isHardwareBacked(): Boolean = true
    override fun attest(alias: String, challenge: ByteArray): DeviceAttestation {
        attested += alias to challenge
        return DeviceAttestation.AndroidKey(listOf(challenge, byteArrayOf(1, 2, 3)))
    }
    override fun signAttested(alias: String, message: ByteArray): HardwareSignature =
        HardwareSignature.AndroidKey(message)
    override fun deleteAttested(alias: String) {
        deleted += alias
    }
}

/** A server that gives a nonce, keeps the enrolment body and refuses it. */
private class RefusingServer : HttpTransport {
    @Volatile var enrolBody: String? = null

    override suspend fun send(request: HttpRequest): HttpResponse = when {
        request.url.endsWith("/device/enrol/nonce") ->
            HttpResponse(200u, """{"nonce":"n-1","expires_in":60}""".toByteArray())
        request.url.endsWith("/device/enrol") -> {
            enrolBody = String(request.body)
            HttpResponse(403u, """{"error":"attestation_invalid"}""".toByteArray())
        }
        else -> HttpResponse(404u, """{"error":"not_found"}""".toByteArray())
    }
}

class HardwareKeysTest {
    private val prefix = "fr.vistalid.hardware."

    @Test
    fun aliasesAreCheckedAndPrefixed() {
        assertEquals(prefix + "hw-0123456789abcdef", HardwareKeys.keystoreAlias(prefix, "hw-0123456789abcdef"))
        for (bad in listOf("", "hw-", "hw-0123456789ABCDEF", "hw-0123456789abcde", "fr.vistalid.vault.prf", "hw-0123456789abcdef0")) {
            assertFailsWith<VistalidException.InvalidInput>(bad) { HardwareKeys.keystoreAlias(prefix, bad) }
        }
    }

    @Test
    fun chainsEncodeLeafFirstAndAMissingChainIsTyped() {
        val chain = arrayOf(FakeCertificate(byteArrayOf(1)), FakeCertificate(byteArrayOf(2, 2)))
        val encoded = HardwareKeys.encodeChain(chain)
        assertEquals(2, encoded.size)
        assertContentEquals(byteArrayOf(1), encoded[0])
        assertContentEquals(byteArrayOf(2, 2), encoded[1])
        assertFailsWith<VistalidException.KeystoreUnavailable> { HardwareKeys.encodeChain(null) }
        assertFailsWith<VistalidException.KeystoreUnavailable> { HardwareKeys.encodeChain(arrayOf()) }
    }

    @Test
    fun signaturesAreDerEcdsaSha256ThatVerify() {
        val pair = KeyPairGenerator.getInstance("EC").apply { initialize(ECGenParameterSpec("secp256r1")) }.generateKeyPair()
        val message = "header.payload.sig".toByteArray()
        val sig = HardwareKeys.signEcdsaSha256(pair.private, message)
        assertEquals(0x30, sig[0].toInt(), "a DER SEQUENCE, not raw r || s")
        val verifier = Signature.getInstance("SHA256withECDSA")
        verifier.initVerify(pair.public)
        verifier.update(message)
        assertTrue(verifier.verify(sig))
    }

    @Test
    fun failuresMapToTypedErrorsWithoutTheirMessages() {
        assertIs<VistalidException.KeyInvalidated>(HardwareKeys.mapFailure(KeyPermanentlyInvalidatedException()))
        val locked = HardwareKeys.mapFailure(UserNotAuthenticatedException())
        assertEquals("device locked", (locked as VistalidException.KeystoreUnavailable).reason)
        val other = HardwareKeys.mapFailure(InvalidKeyException("secret detail"))
        assertEquals("InvalidKeyException", (other as VistalidException.KeystoreUnavailable).reason)
        val provider = HardwareKeys.mapFailure(ProviderException("secret detail"))
        assertEquals("ProviderException", (provider as VistalidException.KeystoreUnavailable).reason)
        val typed = VistalidException.KeyInvalidated()
        assertSame(typed, HardwareKeys.mapFailure(typed))
        val unrelated = IllegalStateException("x")
        assertSame(unrelated, HardwareKeys.mapFailure(unrelated))
    }

    @Test
    fun theWalletAttestsThroughTheBindingsAndDeletesTheKeyOfARefusedEnrolment(): Unit = runBlocking {
        val ks = RecordingHardwareKeystore()
        val server = RefusingServer()
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        openTestWallet(dir, ks, transport = server).use { w ->
            val e = assertFailsWith<VistalidException.DeviceNotTrusted> { w.enrol("https://idp.example.fr", "ABCDEFGH", "482915") }
            // `attestation_invalid`: evidence was sent and did not verify.
            assertEquals(false, e.missing)
        }
        assertEquals(1, ks.attested.size)
        val (alias, challenge) = ks.attested[0]
        assertTrue(Regex("hw-[0-9a-f]{16}").matches(alias), alias)
        assertEquals(32, challenge.size)
        @Suppress("UNCHECKED_CAST")
        val body = MiniJson.parse(server.enrolBody!!) as Map<String, Any?>
        @Suppress("UNCHECKED_CAST")
        val evidence = body["device_attestation"] as Map<String, Any?>
        assertEquals("android_key", evidence["platform"])
        val b64 = Base64.getUrlEncoder().withoutPadding()
        assertEquals(listOf(b64.encodeToString(challenge), "AQID"), evidence["chain"])
        // The refused enrolment's key is deleted (on Rust's blocking pool: wait for it).
        val deadline = System.nanoTime() + 5_000_000_000
        while (ks.deleted.isEmpty() && System.nanoTime() < deadline) Thread.sleep(10)
        assertEquals(listOf(alias), ks.deleted.toList())
    }
}
