// SPDX-License-Identifier: Apache-2.0
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The library's HTTP requests sent with `URLSession`: on Apple platforms the system's HTTP
/// stack (App Transport Security, the trust store, proxies), on Linux swift-corelibs-foundation.
/// The default transport of ``Wallet/open(at:keystore:deviceName:transport:)``,
/// ``fetchIssuerKeys(from:transport:)`` and ``redeemQr(serverUrl:qrText:clientId:clientSecret:transport:)``.
///
/// Guarantees (the contract of `HttpTransport`):
/// - redirects are never followed: a 3xx goes back to the library, which refuses it;
/// - the whole exchange is bounded by the request's `timeoutMs` (the task is cancelled);
/// - at most `maxResponseBytes + 1` bytes of a body are kept (the library refuses a longer
///   one) and the transfer is cancelled there;
/// - no answer throws `VistalidError.Network`: `retryable` for timeouts, refused or broken
///   connections and no network, not for TLS failures or bad URLs;
/// - when Rust drops a request (its caller went away), the transfer is cancelled. A Swift
///   `Task` cancelled while it awaits a wallet call does not reach Rust: UniFFI 0.32's Swift
///   async calls are not cancellable, so such a call ends at its own deadline;
/// - an ephemeral session: no cookies, no cache, nothing written to disk.
public final class URLSessionTransport: HttpTransport, @unchecked Sendable {
    // @unchecked: `session` and `tasks` are set once; `tasks` guards its state with a lock.
    private let session: URLSession
    private let tasks = PendingTasks()

    /// A transport with its own ephemeral `URLSession` built from `configuration`.
    public init(configuration: URLSessionConfiguration = .ephemeral) {
        configuration.urlCache = nil
        configuration.httpCookieStorage = nil
        session = URLSession(configuration: configuration, delegate: tasks, delegateQueue: nil)
    }

    deinit {
        // The session holds its delegate until invalidated.
        session.invalidateAndCancel()
    }

    public func send(request: HttpRequest) async throws -> HttpResponse {
        guard let url = URL(string: request.url), let scheme = url.scheme?.lowercased(),
              scheme == "https" || scheme == "http"
        else { throw VistalidError.Network(retryable: false) }
        let seconds = max(Double(request.timeoutMs) / 1000, 0.001)
        var r = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: seconds)
        r.httpMethod = request.method
        for (name, value) in request.headers { r.setValue(value, forHTTPHeaderField: name) }
        if request.method == "POST" { r.httpBody = request.body }
        let limit = Int(clamping: request.maxResponseBytes) &+ 1
        let task = session.dataTask(with: r)
        // Rust dropping the request cancels the task running `send`: cancel the transfer.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                tasks.start(task, limit: limit, continuation: continuation)
                task.resume()
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { [tasks] in
                    tasks.expire(task)
                }
            }
        } onCancel: {
            task.cancel()
        }
    }
}

/// The session delegate: collects each task's body up to its bound, refuses redirects, and
/// resumes the task's continuation exactly once.
private final class PendingTasks: NSObject, URLSessionDataDelegate, @unchecked Sendable {
    // @unchecked: every access to `pending` holds `lock`.
    private struct Pending {
        let limit: Int
        let continuation: CheckedContinuation<HttpResponse, Error>
        var body = Data()
        var timedOut = false
        var cut = false
    }

    private let lock = NSLock()
    private var pending: [Int: Pending] = [:]

    func start(_ task: URLSessionTask, limit: Int, continuation: CheckedContinuation<HttpResponse, Error>) {
        lock.lock()
        pending[task.taskIdentifier] = Pending(limit: limit, continuation: continuation)
        lock.unlock()
    }

    /// The deadline passed: cancel the task if it is still running.
    func expire(_ task: URLSessionTask) {
        lock.lock()
        let running = pending[task.taskIdentifier] != nil
        if running { pending[task.taskIdentifier]?.timedOut = true }
        lock.unlock()
        if running { task.cancel() }
    }

    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        lock.lock()
        var cut = false
        if var p = pending[dataTask.taskIdentifier], !p.cut {
            let room = p.limit - p.body.count
            p.body.append(data.prefix(room))
            if data.count >= room {
                p.cut = true
                cut = true
            }
            pending[dataTask.taskIdentifier] = p
        }
        lock.unlock()
        if cut { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
        lock.lock()
        let p = pending.removeValue(forKey: task.taskIdentifier)
        lock.unlock()
        guard let p else { return }
        let status = (task.response as? HTTPURLResponse)?.statusCode
        if p.cut, let status {
            // Cut at the bound: hand over what was read; the library refuses it.
            p.continuation.resume(returning: HttpResponse(status: UInt16(clamping: status), body: p.body))
        } else if p.timedOut {
            p.continuation.resume(throwing: VistalidError.Network(retryable: true))
        } else if let error {
            p.continuation.resume(throwing: VistalidError.Network(retryable: Self.isRetryable(error)))
        } else if let status {
            p.continuation.resume(returning: HttpResponse(status: UInt16(clamping: status), body: p.body))
        } else {
            p.continuation.resume(throwing: VistalidError.Network(retryable: false))
        }
    }

    /// Network trouble is retryable; TLS, certificate and URL problems are not.
    private static func isRetryable(_ error: Error) -> Bool {
        guard let e = error as? URLError else { return false }
        switch e.code {
        case .timedOut, .cannotConnectToHost, .networkConnectionLost, .notConnectedToInternet,
             .cannotFindHost, .dnsLookupFailed, .cannotLoadFromNetwork, .resourceUnavailable:
            return true
        default:
            return false
        }
    }
}
