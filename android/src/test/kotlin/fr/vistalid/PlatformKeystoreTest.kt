// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.VistalidException
import fr.vistalid.ffi.describeKeystore
import java.security.SecureRandom
import javax.crypto.Mac
import javax.crypto.spec.SecretKeySpec
import fr.vistalid.ffi.HttpRequest
import fr.vistalid.ffi.HttpResponse
import fr.vistalid.ffi.HttpTransport
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue

/** A JVM keystore (HMAC-SHA256 with an in-memory key): the shape of the Android one. */
private class HmacKeystore : PrfOnlyKeystore {
    private var key: ByteArray? = ByteArray(32).also { SecureRandom().nextBytes(it) }
    val inputs = mutableListOf<ByteArray>()

    override fun prf(input: ByteArray): ByteArray {
        inputs += input
        val k = key ?: throw VistalidException.KeyInvalidated()
        return Mac.getInstance("HmacSHA256").apply { init(SecretKeySpec(k, "HmacSHA256")) }.doFinal(input)
    }

    override fun delete() {
        key = null
    }

    override fun isHardwareBacked(): Boolean = false
}

/** A keystore whose PRF always throws [failure]. */
private class FailingKeystore(private val failure: Exception) : PrfOnlyKeystore {
    override fun prf(input: ByteArray): ByteArray = throw failure
    override fun delete() = Unit
    override fun isHardwareBacked(): Boolean = true
}

class PlatformKeystoreTest {
    @Test
    fun rustCallsTheKotlinKeystore() {
        val ks = HmacKeystore()
        val d = describeKeystore(ks, "probe".toByteArray())
        assertEquals(32u, d.prfOutputLen)
        assertFalse(d.hardwareBacked)
        assertEquals(1, ks.inputs.size)
        assertEquals("probe", String(ks.inputs[0]))
    }

    @Test
    fun suspendingDescribeRunsOffTheCaller() = runBlocking {
        val d = HmacKeystore().describe()
        assertEquals(32u, d.prfOutputLen)
    }

    @Test
    fun typedKeystoreErrorComesBackTyped() {
        val e = assertFailsWith<VistalidException.KeystoreUnavailable> {
            describeKeystore(FailingKeystore(VistalidException.KeystoreUnavailable("device locked")), ByteArray(1))
        }
        assertEquals("device locked", e.reason)
        val ks = HmacKeystore()
        ks.delete()
        assertFailsWith<VistalidException.KeyInvalidated> { describeKeystore(ks, ByteArray(1)) }
    }

    @Test
    fun unexpectedKotlinExceptionBecomesInternalNotACrash() {
        val e = assertFailsWith<VistalidException.Internal> {
            describeKeystore(FailingKeystore(IllegalStateException("StrongBox went away")), ByteArray(1))
        }
        assertTrue(e.reason.contains("StrongBox went away"), e.reason)
    }

    @Test
    fun aPrfOutputOfTheWrongLengthIsTypedAndSpendsNoCode() = runBlocking {
        for (length in listOf(0, 31, 33)) {
            val short = object : PrfOnlyKeystore {
                override fun prf(input: ByteArray): ByteArray = ByteArray(length) { 7 }
                override fun delete() = Unit
                override fun isHardwareBacked(): Boolean = true
            }
            val requests = AtomicInteger()
            val counting = object : HttpTransport {
                override suspend fun send(request: HttpRequest): HttpResponse {
                    requests.incrementAndGet()
                    throw VistalidException.Network(false)
                }
            }
            val dir = Files.createTempDirectory("vistalid-wallet").toFile()
            // The production constructor: the check is core's, for every keystore.
            openWallet(dir, short, "JVM test", transport = counting).use { w ->
                val e = assertFailsWith<VistalidException.InvalidKeystoreOutput> {
                    w.enrol("https://idp.example.fr", "ABCDEFGH", "482915")
                }
                assertEquals(length.toUInt(), e.length)
                assertEquals(0, requests.get(), "no request: the activation code is not spent")
                assertTrue(w.accounts().isEmpty())
            }
        }
    }
}
