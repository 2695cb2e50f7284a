import Foundation
import Hummingbird
import Synchronization

/// Each token's request budget: a token bucket of `rate` requests a second, holding up to two seconds of them. A
/// client past it gets 429 with Retry-After and costs the server nothing more, so one token cannot starve the others.
/// Only verified tokens get a bucket, so the table is bounded by the tokens in the store.
public final class RequestBudget: Sendable {
    struct Bucket {
        var tokens: Double
        var at: ContinuousClock.Instant
    }

    let rate: Double
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(rate: Double) {
        self.rate = rate
    }

    var capacity: Double { rate * 2 }

    /// Takes one request from the token's bucket; nil when allowed, else the seconds until one is.
    func take(_ token: String, now: ContinuousClock.Instant = .now) -> Double? {
        buckets.withLock { buckets in
            var bucket = buckets[token] ?? Bucket(tokens: capacity, at: now)
            let elapsed = Double((now - bucket.at).components.seconds) + Double((now - bucket.at).components.attoseconds) / 1e18
            bucket.tokens = min(capacity, bucket.tokens + max(0, elapsed) * rate)
            bucket.at = now
            defer { buckets[token] = bucket }
            guard bucket.tokens >= 1 else { return (1 - bucket.tokens) / rate }
            bucket.tokens -= 1
            return nil
        }
    }
}

struct RequestBudgetMiddleware: RouterMiddleware {
    let budget: RequestBudget

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        if let principal = context.principal, let wait = budget.take(principal.tokenId) {
            var error = APIError(.tooManyRequests, "rate_limited",
                                 "token \(principal.tokenId) is over its budget of \(Int(budget.rate)) requests a second")
            error.headers[.retryAfter] = String(Int(wait.rounded(.up)))
            throw error
        }
        return try await next(request, context)
    }
}
