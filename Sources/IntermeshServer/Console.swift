import Foundation
import Hummingbird
import IntermeshConsole
import IntermeshStore

/// The web console at `/`: its page and assets, and signing in and out. Everything it shows it reads from `/v1`
/// with the session cookie, under the same roles as the API.
struct Console {
    let plane: ControlPlane
    /// Cookies are `Secure` when the server speaks TLS.
    let secure: Bool

    func register(on router: Router<ServerContext>) {
        router.get("/") { _, _ in asset("index.html") }
        router.get("/console/:file") { _, context in
            let file: String = try context.parameters.require("file")
            guard ConsoleAssets.file(named: file) != nil, file != "index.html" else { throw APIError.notFound("the console has no file \(file)") }
            return asset(file)
        }
        router.get("/console/sign-in") { request, _ in
            // A one-time link (`intermesh up` prints one): the code stands for a token once.
            guard let code = request.uri.queryParameters.get("code"), let token = await plane.signInCodes.redeem(code) else {
                return redirect("/?signin=expired")
            }
            return signedIn(token)
        }
        router.post("/console/sign-in") { request, context in
            try ConsoleSession.checkOrigin(request)
            let body = try await request.body.collect(upTo: 4096)
            let form = URLComponents(string: "?" + String(buffer: body).replacingOccurrences(of: "+", with: " "))
            let token = form?.queryItems?.first { $0.name == "token" }?.value?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            guard let record = try? await AuthMiddleware.verify(token, store: plane.store, now: plane.now()) else {
                return redirect("/?signin=invalid")
            }
            // An agent's token acts for one site's members; it is not a person's.
            guard record.role != .agent else { return redirect("/?signin=agent") }
            return signedIn(token)
        }
        router.post("/console/sign-out") { request, _ in
            try ConsoleSession.checkOrigin(request)
            var response = redirect("/")
            for cookie in ConsoleSession.cleared(secure: secure) { response.setCookie(cookie) }
            return response
        }
    }

    func signedIn(_ token: String) -> Response {
        var response = redirect("/")
        for cookie in ConsoleSession.cookies(token: token, secure: secure) { response.setCookie(cookie) }
        return response
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store", ConsoleSession.referrerPolicy: "same-origin"])
    }

    func asset(_ name: String) -> Response {
        guard let file = ConsoleAssets.file(named: name) else { return Response(status: .notFound) }
        return Response(status: .ok, headers: [
            .contentType: file.contentType, .cacheControl: "no-cache", .eTag: file.etag,
            .contentSecurityPolicy: "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
            .xContentTypeOptions: "nosniff", ConsoleSession.referrerPolicy: "same-origin",
        ], body: .init(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }
}
