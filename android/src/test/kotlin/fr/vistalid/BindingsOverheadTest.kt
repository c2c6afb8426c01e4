// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.AnswerOutcome
import fr.vistalid.ffi.HttpRequest
import fr.vistalid.ffi.HttpResponse
import fr.vistalid.ffi.HttpTransport
import fr.vistalid.ffi.PlatformKeystore
import fr.vistalid.ffi.describeKeystore
import fr.vistalid.ffi.libraryVersion
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicLong
import java.nio.file.Files
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals

/**
 * The Kotlin side of the bindings-overhead comparison (the Rust side is
 * `cargo bench -p vistalid-ffi --bench ffi_baseline`): prints the median cost of one trivial
 * call through the bindings and of one `approve` through them, under the same conditions as
 * the Rust bench (test Argon2 parameters, loopback server). It prints; it does not assert
 * times (only that the calls work). The tests load the debug build of the library: compare
 * with the Rust bench run in the same profile (`cargo test -p vistalid-ffi --bench ffi_baseline`).
 */
class BindingsOverheadTest {
    private fun median(v: List<Long>): Long = v.sorted()[v.size / 2]

    @Test
    fun printsMediansOfATrivialCallAndAnApproval(): Unit = runBlocking {
        // Warm up JNA and the JIT, then batches of 1 000 calls.
        repeat(5_000) { libraryVersion() }
        val perCall = (1..30).map {
            val t = System.nanoTime()
            repeat(1_000) { libraryVersion() }
            (System.nanoTime() - t) / 1_000
        }
        println("BENCH kotlin trivial call (libraryVersion): median ${median(perCall)} ns")

        // Rust calling back into Kotlin: describeKeystore makes 2 callbacks (prf,
        // isHardwareBacked) from the calling thread.
        val prfCalls = AtomicInteger()
        val prfNanos = AtomicLong()
        val inner = MemoryHmacKeystore()
        val counting = object : PlatformKeystore by inner {
            override fun prf(input: ByteArray): ByteArray {
                val t = System.nanoTime()
                return inner.prf(input).also {
                    prfNanos.addAndGet(System.nanoTime() - t)
                    prfCalls.incrementAndGet()
                }
            }
        }
        val httpNanos = AtomicLong()
        val http = HttpUrlConnectionTransport()
        val timedHttp = object : HttpTransport {
            override suspend fun send(request: HttpRequest): HttpResponse {
                val t = System.nanoTime()
                return http.send(request).also { httpNanos.addAndGet(System.nanoTime() - t) }
            }
        }
        repeat(2_000) { describeKeystore(counting, ByteArray(32)) }
        val perDescribe = (1..30).map {
            val t = System.nanoTime()
            repeat(200) { describeKeystore(counting, ByteArray(32)) }
            (System.nanoTime() - t) / 200
        }
        println("BENCH kotlin describeKeystore (1 call + 2 callbacks): median ${median(perDescribe)} ns")

        val rp = Fixture.client("pick")
        val (rpps, code) = Fixture.practitioner(8)
        val dir = Files.createTempDirectory("vistalid-bench").toFile()
        openTestWallet(dir, counting, "JVM bench", transport = timedHttp).use { w ->
            w.enrol(Fixture.baseUrl, code, "204862")
            prfCalls.set(0)
            var approvePrf = 0L
            var approveHttp = 0L
            val times = (1..40).map {
                val (_, dynamicCode) = rp.ciba(rpps, "bench")
                val ch = w.fetchChallenges(5u).challenges.single()
                val (prf0, http0) = prfNanos.get() to httpNanos.get()
                val t = System.nanoTime()
                assertEquals(AnswerOutcome.APPROVED, w.approve(ch.id, "204862", dynamicCode))
                val elapsed = System.nanoTime() - t
                approvePrf += prfNanos.get() - prf0
                approveHttp += httpNanos.get() - http0
                elapsed
            }
            println("BENCH kotlin approve through the bindings: median ${median(times) / 1000} µs (40 rounds)")
            println(
                "BENCH kotlin approve, time inside Kotlin callbacks per round: keystore ${approvePrf / 40_000} µs, " +
                    "HTTP transport ${approveHttp / 40_000} µs",
            )
            println("BENCH keystore prf callbacks per round (fetch + approve): ${prfCalls.get() / 40.0}")
            // Where the time goes: a sync call that reads the vault, and an async call with
            // one HTTP exchange through the Kotlin transport and nothing to verify.
            val sync = (1..200).map {
                val t = System.nanoTime()
                w.attemptsLeft()
                System.nanoTime() - t
            }
            println("BENCH kotlin attemptsLeft (sync, reads the vault): median ${median(sync) / 1000} µs")
            val empty = (1..100).map {
                val t = System.nanoTime()
                w.fetchChallenges(0u)
                System.nanoTime() - t
            }
            println("BENCH kotlin fetchChallenges, nothing pending (async, 1 HTTP): median ${median(empty) / 1000} µs")
            // The platform HTTP stack alone (no Rust): what the transport costs per request.
            val discovery = HttpRequest(
                "GET", Fixture.baseUrl + "/.well-known/openid-configuration",
                mapOf("accept" to "application/json"), ByteArray(0), 30_000uL, 1_048_576uL,
            )
            val nonce = HttpRequest(
                "POST", Fixture.baseUrl + "/device/enrol/nonce",
                mapOf("accept" to "application/json", "content-type" to "application/json"),
                "{}".toByteArray(), 30_000uL, 1_048_576uL,
            )
            for ((name, req) in listOf("GET" to discovery, "POST" to nonce)) {
                val direct = (1..100).map {
                    val t = System.nanoTime()
                    assertEquals(200, http.send(req).status.toInt())
                    System.nanoTime() - t
                }
                println("BENCH kotlin HttpUrlConnectionTransport alone, one $name: median ${median(direct) / 1000} µs")
            }
        }

        // With the product's Argon2 parameters (what a phone runs): opt-in. "Outside the
        // callbacks" leaves out the app's keystore and HTTP time, to set against the Rust
        // bench's "outside the transport".
        if (System.getenv("VISTALID_BENCH_FULL") == "1") {
            val (rpps2, code2) = Fixture.practitioner(9)
            val dir2 = Files.createTempDirectory("vistalid-bench").toFile()
            openWallet(dir2, counting, "JVM bench", transport = timedHttp).use { w ->
                w.enrol(Fixture.baseUrl, code2, "204862")
                val outside = mutableListOf<Long>()
                val times = (1..21).map {
                    val (_, dynamicCode) = rp.ciba(rpps2, "bench")
                    val ch = w.fetchChallenges(5u).challenges.single()
                    val (prf0, http0) = prfNanos.get() to httpNanos.get()
                    val t = System.nanoTime()
                    assertEquals(AnswerOutcome.APPROVED, w.approve(ch.id, "204862", dynamicCode))
                    val elapsed = System.nanoTime() - t
                    outside += elapsed - (prfNanos.get() - prf0) - (httpNanos.get() - http0)
                    elapsed
                }
                println(
                    "BENCH kotlin approve, product Argon2: median ${median(times) / 1000} µs, " +
                        "outside the Kotlin callbacks ${median(outside) / 1000} µs (21 rounds)",
                )
            }
        }
    }
}
