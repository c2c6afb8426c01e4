// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.AnswerOutcome
import fr.vistalid.ffi.HttpRequest
import fr.vistalid.ffi.HttpResponse
import fr.vistalid.ffi.HttpTransport
import fr.vistalid.ffi.VistalidException
import java.net.URI
import java.net.http.HttpClient
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicInteger
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertTrue
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.runBlocking
import java.net.http.HttpRequest as JHttpRequest
import java.net.http.HttpResponse as JHttpResponse

/**
 * The challenge key's rollover through the real bindings (issue 19) against the testbed: the
 * server's challenge key rotates (the `rotate-key` admin command), a man in the middle's
 * statement (forged by the testbed, not signed by the pinned key) is refused with
 * `KeyRolloverRefused` and moves nothing, then the wallet refreshes its pinned key from the
 * server's true statement and approves a login signed by the new key.
 */
class KeyRolloverTest {
    /** The platform transport, counting rollover requests; with [forge] set it swaps their answer. */
    private class Watched : HttpTransport {
        private val inner = HttpUrlConnectionTransport()
        val forge = AtomicBoolean(false)
        val rollovers = AtomicInteger()

        override suspend fun send(request: HttpRequest): HttpResponse {
            if (!request.url.contains("/device/key-rollover/")) return inner.send(request)
            rollovers.incrementAndGet()
            if (!forge.get()) return inner.send(request)
            val (status, body) = testbed("GET", "/forged-rollover")
            check(status == 200) { "forged-rollover: $status" }
            return HttpResponse(200u, body.toByteArray())
        }
    }

    @Test
    fun theWalletFollowsARotatedKeyAndRefusesAForgedRollover(): Unit = runBlocking {
        val (rpps, code) = Fixture.practitioner(14)
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        val transport = Watched()
        openTestWallet(dir, MemoryHmacKeystore(), transport = transport).use { w ->
            val account = w.enrol(Fixture.baseUrl, code, "204862")
            val (status, rotated) = testbed("POST", "/rotate-challenge-key")
            assertEquals(200, status, rotated)
            val rp = Fixture.client("type")
            val (authReqId, dynamicCode) = rp.ciba(rpps, "Après la rotation")

            // A statement not signed by the pinned key: refused, typed, and nothing moves.
            transport.forge.set(true)
            val e = assertFailsWith<VistalidException.KeyRolloverRefused> { w.updateServerKey(account.accountId) }
            assertTrue(e.reason.contains("not signed by the pinned"), e.reason)
            val refused = w.fetchChallenges(0.seconds)
            assertTrue(refused.challenges.isEmpty(), "a challenge of the new key verified under a forged rollover")
            assertEquals(1u, refused.rejectedCount)

            // The server's own statement: the pin moves, and the new key's challenge verifies.
            transport.forge.set(false)
            assertTrue(w.updateServerKey(account.accountId), "the pin moved to the new key")
            val ch = w.fetchChallenges(5.seconds).challenges.single()
            assertEquals("Après la rotation", ch.bindingMessage)
            assertEquals(AnswerOutcome.APPROVED, w.approve(ch, "204862", dynamicCode))
            assertEquals(200, rp.token(authReqId).first)
            assertFalse(w.updateServerKey(account.accountId), "nothing newer than the new key")
            assertEquals(5, transport.rollovers.get(), "forged refresh 1, refused fetch 1, true refresh 2 (the hop, then none newer), last refresh 1")
        }
    }
}

/** One call to the testbed's key-rollover server: HTTP status and body. */
private fun testbed(method: String, path: String): Pair<Int, String> {
    val request = JHttpRequest.newBuilder(URI.create(Fixture.keysUrl + path))
        .method(method, JHttpRequest.BodyPublishers.noBody())
        .build()
    val resp = HttpClient.newHttpClient().send(request, JHttpResponse.BodyHandlers.ofString())
    return resp.statusCode() to resp.body()
}
