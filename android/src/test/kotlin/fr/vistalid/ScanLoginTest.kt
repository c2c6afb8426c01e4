// SPDX-License-Identifier: Apache-2.0
package fr.vistalid

import fr.vistalid.ffi.AnswerOutcome
import fr.vistalid.ffi.VistalidException
import java.net.CookieManager
import java.net.URI
import java.net.URLEncoder
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.security.MessageDigest
import java.security.SecureRandom
import java.util.Base64
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.runBlocking
import kotlin.test.Test
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

private const val SCAN_PIN = "204862"

/**
 * Scan mode (issue 16) through the Kotlin bindings against the reference server on loopback:
 * a browser login of the client registered for scan mode (a cookie-keeping HTTP client plays
 * the browser), the page's QR code read by the testbed's camera stand-in, then `scanLogin`,
 * its typed refusals and the approval carrying the MAC.
 */
class ScanLoginTest {
    private val browser: HttpClient = HttpClient.newBuilder()
        .followRedirects(HttpClient.Redirect.NEVER)
        .cookieHandler(CookieManager())
        .build()

    private fun get(url: String): HttpResponse<String> =
        browser.send(HttpRequest.newBuilder(URI.create(url)).GET().build(), HttpResponse.BodyHandlers.ofString())

    private fun postForm(url: String, form: Map<String, String>): HttpResponse<String> {
        val body = form.entries.joinToString("&") { (k, v) ->
            URLEncoder.encode(k, Charsets.UTF_8) + "=" + URLEncoder.encode(v, Charsets.UTF_8)
        }
        val req = HttpRequest.newBuilder(URI.create(url))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .POST(HttpRequest.BodyPublishers.ofString(body))
            .build()
        return browser.send(req, HttpResponse.BodyHandlers.ofString())
    }

    private fun between(html: String, marker: String, end: Char): String {
        val at = html.indexOf(marker)
        check(at >= 0) { "$marker not in the page" }
        val start = at + marker.length
        return html.substring(start, html.indexOf(end, start))
    }

    /** The waiting page of a scan-mode login for [loginId]: its URL and HTML. */
    private fun scanPage(loginId: String): Pair<String, String> {
        val (clientId, redirectUri) = Fixture.scanClient()
        val b64 = Base64.getUrlEncoder().withoutPadding()
        val verifier = b64.encodeToString(ByteArray(32).also { SecureRandom().nextBytes(it) })
        val challenge = b64.encodeToString(MessageDigest.getInstance("SHA-256").digest(verifier.toByteArray()))
        val q = mapOf(
            "response_type" to "code", "client_id" to clientId, "redirect_uri" to redirectUri,
            "scope" to "openid", "state" to "kotlin-scan", "code_challenge" to challenge,
            "code_challenge_method" to "S256",
        ).entries.joinToString("&") { (k, v) -> k + "=" + URLEncoder.encode(v, Charsets.UTF_8) }
        val authorize = get("${Fixture.baseUrl}/protocol/openid-connect/auth?$q")
        assertEquals(303, authorize.statusCode())
        val page = Fixture.baseUrl + authorize.headers().firstValue("location").get()
        val form = get(page).body()
        assertTrue(form.contains("id=\"scan-forced\""), "the page says the service asks for a scan")
        val csrf = between(form, "name=\"csrf\" value=\"", '"')
        assertEquals(303, postForm(page, mapOf("identifier" to loginId, "csrf" to csrf)).statusCode())
        val waiting = get(page).body()
        assertTrue(waiting.contains("data-state=\"waiting\""), waiting)
        return page to waiting
    }

    /** What the phone's camera reads on [html] (the testbed decodes the page's QR code). */
    private fun camera(html: String): String {
        val req = HttpRequest.newBuilder(URI.create(Fixture.cameraUrl + "/scan"))
            .POST(HttpRequest.BodyPublishers.ofString(html))
            .build()
        val resp = HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString())
        assertEquals(200, resp.statusCode(), "a readable QR code")
        return resp.body()
    }

    @Test
    fun scanLoginFetchesTheRequestAndTheApprovalCarriesTheMac(): Unit = runBlocking {
        val (rpps, code) = Fixture.practitioner(12)
        val dir = Files.createTempDirectory("vistalid-wallet").toFile()
        openTestWallet(dir, MemoryHmacKeystore()).use { w ->
            w.enrol(Fixture.baseUrl, code, SCAN_PIN)
            val (page, html) = scanPage("8$rpps")
            val scanned = camera(html)
            assertTrue(scanned.startsWith("VLSCAN1:"), scanned)
            val shown = between(html, "id=\"code\" class=\"code\">", '<')

            // Typed refusals first: not a login QR code, another server's code.
            assertFailsWith<VistalidException.NotALoginQr> { w.scanLogin("VL1:NOT-A-LOGIN") }
            val elsewhere = scanned.replace(Fixture.baseUrl, "https://look-alike.example")
            val unknown = assertFailsWith<VistalidException.ScanUnknownServer> { w.scanLogin(elsewhere) }
            assertEquals("https://look-alike.example", unknown.scanned)
            assertEquals(listOf(Fixture.baseUrl), unknown.enrolled)

            // The push alone shows the request, but it cannot be approved without the scan.
            val pushed = w.fetchChallenges(5.seconds).challenges.single()
            assertTrue(pushed.scan)
            assertFailsWith<VistalidException.ScanRequired> { w.approve(pushed.id, SCAN_PIN, shown) }

            val ch = w.scanLogin(scanned)
            assertEquals(pushed.id, ch.id)
            assertTrue(ch.scan)
            assertEquals(AnswerOutcome.APPROVED, w.approve(ch.id, SCAN_PIN, shown))
            val back = get("$page/continue")
            assertEquals(303, back.statusCode())
            assertTrue(back.headers().firstValue("location").get().contains("code="))
        }
    }
}
