// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import com.sun.net.httpserver.HttpServer
import fr.vistalid.ffi.HttpRequest
import fr.vistalid.ffi.HttpResponse
import fr.vistalid.ffi.HttpTransport
import fr.vistalid.ffi.VistalidException
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.nio.file.Files
import java.util.concurrent.atomic.AtomicInteger
import kotlin.concurrent.thread
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import kotlin.test.AfterTest
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * The HTTP stack is the platform's: [HttpUrlConnectionTransport] against hostile loopback
 * servers, and Kotlin transports that throw.
 */
class TransportTest {
    private val server = HttpServer.create(InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0)
    private val base get() = "http://127.0.0.1:${server.address.port}"
    private val targetHits = AtomicInteger()

    init {
        server.createContext("/redirect") { ex ->
            ex.responseHeaders.add("Location", "$base/target")
            ex.sendResponseHeaders(302, -1)
            ex.close()
        }
        server.createContext("/target") { ex ->
            targetHits.incrementAndGet()
            val body = """{"keys":[]}""".toByteArray()
            ex.sendResponseHeaders(200, body.size.toLong())
            ex.responseBody.use { it.write(body) }
        }
        server.createContext("/huge") { ex ->
            ex.sendResponseHeaders(200, 0) // chunked, no length announced
            ex.responseBody.use { out ->
                val chunk = ByteArray(64 * 1024) { 'a'.code.toByte() }
                repeat(64) { out.write(chunk) } // 4 MiB, past the 1 MiB bound
            }
        }
        server.start()
    }

    @AfterTest
    fun stop() = server.stop(0)

    /** Records what the library asked for and how much came back. */
    private class Recording(private val inner: HttpTransport = HttpUrlConnectionTransport()) : HttpTransport {
        val requests = mutableListOf<HttpRequest>()
        val bodySizes = mutableListOf<Int>()
        override suspend fun send(request: HttpRequest): HttpResponse {
            requests += request
            return inner.send(request).also { bodySizes += it.body.size }
        }
    }

    @Test
    fun redirectsAreNeverFollowed(): Unit = runBlocking {
        val t = Recording()
        val e = assertFailsWith<VistalidException.Server> { fetchIssuerKeys("$base/redirect", t) }
        assertEquals(302, e.status.toInt())
        assertEquals(0, targetHits.get(), "the redirect target must not be contacted")
        // Control: the target itself answers.
        fetchIssuerKeys("$base/target", t)
        assertEquals(1, targetHits.get())
        assertEquals("GET", t.requests[0].method)
        assertEquals("$base/redirect/qr/issuer-keys", t.requests[0].url)
    }

    @Test
    fun anOversizedBodyIsCutAtTheBoundAndRefused(): Unit = runBlocking {
        val t = Recording()
        val e = assertFailsWith<VistalidException> { fetchIssuerKeys("$base/huge", t) }
        assertTrue(e !is VistalidException.Server, "$e")
        val bound = t.requests.single().maxResponseBytes.toLong()
        assertEquals(1L shl 20, bound)
        assertEquals(bound + 1, t.bodySizes.single().toLong(), "read exactly one byte past the bound")
    }

    @Test
    fun cancellingTheCallerClosesTheConnectionAtOnce(): Unit = runBlocking {
        // A server that reads the request and never answers: only the client can end it.
        val silent = ServerSocket(0, 50, InetAddress.getLoopbackAddress())
        val closedAt = CompletableDeferred<Long>()
        thread(isDaemon = true) {
            silent.accept().use { socket ->
                val buf = ByteArray(4096)
                while (socket.getInputStream().read(buf) >= 0) {
                    // Drain until the client hangs up.
                }
                closedAt.complete(System.nanoTime())
            }
        }
        silent.use {
            val call = launch(Dispatchers.Default) {
                runCatching { fetchIssuerKeys("http://127.0.0.1:${silent.localPort}") }
            }
            delay(500)
            val cancelledAt = System.nanoTime()
            call.cancelAndJoin()
            val ms = (withTimeout(5_000) { closedAt.await() } - cancelledAt) / 1_000_000
            assertTrue(ms < 2_000, "the connection closed ${ms} ms after the caller was cancelled")
        }
    }

    @Test
    fun refusedConnectionIsARetryableNetworkError(): Unit = runBlocking {
        val port = ServerSocket(0, 1, InetAddress.getLoopbackAddress()).use { it.localPort }
        val e = assertFailsWith<VistalidException.Network> { fetchIssuerKeys("http://127.0.0.1:$port") }
        assertTrue(e.retryable)
    }

    @Test
    fun throwingKotlinTransportsGiveTypedErrorsNotACrash(): Unit = runBlocking {
        val cases = listOf<Pair<Exception, (VistalidException) -> Boolean>>(
            VistalidException.Network(true) to { e -> e is VistalidException.Network && e.retryable },
            VistalidException.Network(false) to { e -> e is VistalidException.Network && !e.retryable },
            IllegalStateException("proxy exploded") to { e -> e is VistalidException.Network && !e.retryable },
        )
        for ((failure, expected) in cases) {
            val throwing = object : HttpTransport {
                override suspend fun send(request: HttpRequest): HttpResponse = throw failure
            }
            val dir = Files.createTempDirectory("vistalid-wallet").toFile()
            openTestWallet(dir, MemoryHmacKeystore(), transport = throwing)
                .use { w ->
                    val e = assertFailsWith<VistalidException> { w.enrol(Fixture.baseUrl, "ABCDEFGH", "204862") }
                    assertTrue(expected(e), "$failure gave $e")
                    assertTrue(w.accounts().isEmpty())
                }
            val e = assertFailsWith<VistalidException> { fetchIssuerKeys(Fixture.baseUrl, throwing) }
            assertTrue(expected(e), "$failure gave $e")
        }
    }
}
