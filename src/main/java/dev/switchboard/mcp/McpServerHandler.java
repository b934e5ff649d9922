package dev.switchboard.mcp;

import dev.switchboard.bus.Failure;
import dev.switchboard.cluster.Instance;
import dev.switchboard.security.BearerAuthHandler;
import dev.switchboard.security.Principal;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Locale;

/**
 * {@code /mcp}: the MCP streamable HTTP transport (protocol 2025-06-18, and 2025-03-26 and
 * 2024-11-05 for older clients), serving {@link McpTools}. The ingress authenticates the request
 * (the API's bearer token) and reads its body; this class speaks JSON-RPC over it. Every request is
 * answered with one JSON object (the transport lets a server choose JSON over an SSE stream), the
 * server sends no requests of its own, so GET (the server-to-client stream) is 405.
 *
 * <p>Protocol failures are answered here, in {@link #reply}, as JSON-RPC errors with the HTTP status
 * the transport asks for: parse error 400, not a JSON-RPC message 400, no session 400, unknown session
 * 404; an error of a request that was understood (unknown method, bad params) is a 200 carrying the
 * error. Everything else (no token, body too large, a foreign Origin) is the ingress's error handler's.
 */
public final class McpServerHandler {

  public static final String LATEST = "2025-06-18";
  /** Newest first: what {@code initialize} can agree on. */
  public static final List<String> SUPPORTED = List.of(LATEST, "2025-03-26", "2024-11-05");
  public static final String SESSION_HEADER = "Mcp-Session-Id";
  public static final String VERSION_HEADER = "MCP-Protocol-Version";

  static final int PARSE_ERROR = -32700;
  static final int INVALID_REQUEST = -32600;
  static final int METHOD_NOT_FOUND = -32601;
  static final int INVALID_PARAMS = -32602;
  static final int INTERNAL_ERROR = -32603;
  /** Server-defined codes (the TypeScript SDK's server uses the same): the HTTP status says the rest. */
  static final int BAD_TRANSPORT = -32000;
  static final int SESSION_NOT_FOUND = -32001;

  private static final String JSON = "application/json";
  private static final String NAME = "switchboard";
  private static final String VERSION = Instance.jarVersion();
  private static final String INSTRUCTIONS = "Switchboard is an AI agent hub. submit_task queues an agent task (follow it "
      + "with get_task); push_message sends a text to a configured chat bot; search_memories and add_memory read and "
      + "write long-term memory scopes such as user:<id>; list_deliveries shows how pushes went.";

  private final McpServerSessions sessions;
  private final McpTools tools;
  private final List<String> origins;

  /** {@code origins}: security.cors.origins, the browser origins that may call (any, with "*"). */
  public McpServerHandler(Vertx vertx, List<String> origins) {
    this(vertx, origins, McpTools.Limiter.NONE);
  }

  /** {@code limiter}: the rate limits of the tools' families (see {@link McpTools.Limiter}). */
  public McpServerHandler(Vertx vertx, List<String> origins, McpTools.Limiter limiter) {
    this(new McpServerSessions(), new McpTools(vertx, limiter), origins);
  }

  McpServerHandler(McpServerSessions sessions, McpTools tools, List<String> origins) {
    this.sessions = sessions;
    this.tools = tools;
    this.origins = List.copyOf(origins);
  }

  /** An answer to one HTTP request: status, JSON body (null: none), and the session id to announce. */
  private record Reply(int status, JsonObject body, String session) {
  }

  /** A JSON-RPC error to answer with, and the HTTP status that carries it. */
  static final class RpcError extends RuntimeException {
    final int status;
    final int code;
    final Object id;

    RpcError(int status, int code, String message, Object id) {
      super(message, null, false, false);
      this.status = status;
      this.code = code;
      this.id = id;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // routes

  /**
   * First on every /mcp route, before the token: a browser page from a foreign origin is refused
   * (403), so a DNS-rebinding page cannot reach a gateway on loopback; an allowed one gets CORS
   * headers, and its preflight is answered here (it carries no token).
   */
  public void origin(RoutingContext ctx) {
    String origin = ctx.request().getHeader("Origin");
    if (origin == null) {
      ctx.next();
      return;
    }
    if (!origins.contains("*") && !origins.contains(origin) && !loopbackSelf(origin, ctx.request().getHeader("Host"))) {
      ctx.fail(new Failure(403, "invalid_request_error", "origin_not_allowed", "Origin '" + origin
          + "' may not use /mcp; list it in security.cors.origins of switchboard.yaml to allow it"));
      return;
    }
    HttpServerResponse response = ctx.response()
        .putHeader("Access-Control-Allow-Origin", origin)
        .putHeader("Vary", "Origin")
        .putHeader("Access-Control-Expose-Headers", SESSION_HEADER);
    if (ctx.request().method() == HttpMethod.OPTIONS && ctx.request().getHeader("Access-Control-Request-Method") != null) {
      response.setStatusCode(204)
          .putHeader("Access-Control-Allow-Methods", "POST, GET, DELETE")
          .putHeader("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, " + SESSION_HEADER + ", "
              + VERSION_HEADER + ", Last-Event-ID")
          .putHeader("Access-Control-Max-Age", "600")
          .end();
      return;
    }
    ctx.next();
  }

  /**
   * A page served from this loopback address and port itself (a local tool's own UI). A rebinding
   * page cannot pass for one: its Host header is its own name, never a loopback one.
   */
  static boolean loopbackSelf(String origin, String host) {
    if (host == null) {
      return false;
    }
    try {
      java.net.URI uri = new java.net.URI(origin);
      String name = uri.getHost();
      boolean loopback = "localhost".equalsIgnoreCase(name) || "127.0.0.1".equals(name) || "[::1]".equals(name);
      String authority = uri.getPort() < 0 ? name : name + ":" + uri.getPort();
      return loopback && ("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))
          && authority.equalsIgnoreCase(host);
    } catch (java.net.URISyntaxException e) {
      return false;
    }
  }

  /** POST /mcp: one JSON-RPC message. */
  public void post(RoutingContext ctx) {
    Future<Reply> reply;
    try {
      reply = handle(ctx);
    } catch (RuntimeException e) {
      reply = Future.failedFuture(e);
    }
    reply.onComplete(ar -> reply(ctx, ar.succeeded() ? ar.result() : failed(ar.cause())));
  }

  /** GET /mcp: the server-to-client stream, which this server does not offer (the transport's 405). */
  public void get(RoutingContext ctx) {
    ctx.response().putHeader("Allow", "POST, DELETE");
    reply(ctx, failed(new RpcError(405, BAD_TRANSPORT, "Method not allowed: this server sends no requests or "
        + "notifications of its own, so it offers no GET stream; POST JSON-RPC messages", null)));
  }

  /** Any other method on /mcp (PUT, HEAD, an OPTIONS that is no preflight): 405, naming the ones there are. */
  public void otherMethod(RoutingContext ctx) {
    ctx.response().putHeader("Allow", "POST, GET, DELETE");
    ctx.fail(405);
  }

  /** DELETE /mcp: the client ends its session. */
  public void delete(RoutingContext ctx) {
    Reply r;
    try {
      String id = sessionId(ctx, null);
      r = sessions.close(id, BearerAuthHandler.subject(ctx)) ? new Reply(204, null, null) : failed(unknownSession(null));
    } catch (RpcError e) {
      r = failed(e);
    }
    reply(ctx, r);
  }

  // ---------------------------------------------------------------------------------------------
  // JSON-RPC

  private Future<Reply> handle(RoutingContext ctx) {
    String type = ctx.request().getHeader("Content-Type");
    if (type == null || !type.toLowerCase(Locale.ROOT).startsWith(JSON)) {
      throw new RpcError(415, BAD_TRANSPORT, "Unsupported Media Type: send the JSON-RPC message as application/json", null);
    }
    if (!acceptsJson(ctx.request().getHeader("Accept"))) {
      throw new RpcError(406, BAD_TRANSPORT, "Not Acceptable: this server answers with application/json; "
          + "send Accept: application/json, text/event-stream", null);
    }
    Object parsed;
    try {
      Buffer raw = ctx.body().buffer();
      parsed = raw == null || raw.length() == 0 ? null : raw.toJsonValue();
    } catch (RuntimeException e) {
      throw new RpcError(400, PARSE_ERROR, "Parse error: the body is not valid JSON", null);
    }
    if (parsed instanceof JsonArray) {
      throw new RpcError(400, INVALID_REQUEST, "Invalid Request: JSON-RPC batches are not supported (protocol "
          + LATEST + " sends one message per POST)", null);
    }
    if (!(parsed instanceof JsonObject message)) {
      throw new RpcError(400, INVALID_REQUEST, "Invalid Request: the body must be one JSON-RPC message (an object)", null);
    }
    Object id = message.getValue("id");
    if (!"2.0".equals(message.getValue("jsonrpc"))) {
      throw new RpcError(400, INVALID_REQUEST, "Invalid Request: 'jsonrpc' must be \"2.0\"", validId(id) ? id : null);
    }
    Object method = message.getValue("method");
    boolean isResponse = method == null && (message.containsKey("result") || message.containsKey("error"));
    if (method != null && !(method instanceof String)) {
      throw new RpcError(400, INVALID_REQUEST, "Invalid Request: 'method' must be a string", validId(id) ? id : null);
    }
    if (!isResponse && method == null) {
      throw new RpcError(400, INVALID_REQUEST, "Invalid Request: neither a request, a notification nor a response", null);
    }
    boolean isRequest = method != null && message.containsKey("id");
    if (isRequest && !validId(id)) {
      throw new RpcError(400, INVALID_REQUEST, "Invalid Request: 'id' must be a string or a number", null);
    }
    String subject = BearerAuthHandler.subject(ctx);
    if (isRequest && "initialize".equals(method)) {
      return Future.succeededFuture(initialize(id, message.getValue("params"), subject));
    }
    McpServerSessions.Session session = session(ctx, subject, isRequest ? id : null);
    if (!isRequest) {
      // notifications (initialized, cancelled, progress) and responses: nothing here waits for them
      return Future.succeededFuture(new Reply(202, null, null));
    }
    Object params = message.getValue("params");
    if (params != null && !(params instanceof JsonObject)) {
      return Future.succeededFuture(error(id, INVALID_PARAMS, "Invalid params: 'params' must be an object"));
    }
    JsonObject p = params == null ? new JsonObject() : (JsonObject) params;
    return switch ((String) method) {
      case "ping" -> Future.succeededFuture(result(id, new JsonObject()));
      case "tools/list" -> Future.succeededFuture(result(id, new JsonObject().put("tools",
          tools.list(BearerAuthHandler.principal(ctx)))));
      case "tools/call" -> callTool(id, p, session, BearerAuthHandler.principal(ctx));
      default -> Future.succeededFuture(error(id, METHOD_NOT_FOUND, "Method not found: " + method));
    };
  }

  private Reply initialize(Object id, Object params, String subject) {
    if (!(params instanceof JsonObject p) || !(p.getValue("protocolVersion") instanceof String asked)) {
      return error(id, INVALID_PARAMS, "Invalid params: initialize needs params.protocolVersion (a string)");
    }
    // the client's version when we speak it, else our latest, which the client may accept or refuse
    String version = SUPPORTED.contains(asked) ? asked : LATEST;
    McpServerSessions.Session session = sessions.open(subject, version).orElseThrow(() -> new RpcError(503,
        BAD_TRANSPORT, "Service Unavailable: too many open MCP sessions; end unused ones (DELETE /mcp) or try later", id));
    JsonObject result = new JsonObject()
        .put("protocolVersion", version)
        .put("capabilities", new JsonObject().put("tools", new JsonObject().put("listChanged", false)))
        .put("serverInfo", new JsonObject().put("name", NAME).put("title", "Switchboard").put("version", VERSION))
        .put("instructions", INSTRUCTIONS);
    return new Reply(200, rpc(id).put("result", result), session.id());
  }

  private Future<Reply> callTool(Object id, JsonObject params, McpServerSessions.Session session, Principal principal) {
    if (!(params.getValue("name") instanceof String name)) {
      return Future.succeededFuture(error(id, INVALID_PARAMS, "Invalid params: tools/call needs params.name (a string)"));
    }
    if (!tools.has(name)) {
      return Future.succeededFuture(error(id, INVALID_PARAMS, "Unknown tool: " + name + "; tools/list names the tools"));
    }
    Object arguments = params.getValue("arguments");
    if (arguments != null && !(arguments instanceof JsonObject)) {
      return Future.succeededFuture(error(id, INVALID_PARAMS, "Invalid params: 'arguments' must be an object"));
    }
    boolean structured = session.protocolVersion().compareTo("2025-06-18") >= 0;
    // the token of this request, not the session's first: the session is bound to its subject only
    return tools.call(name, (JsonObject) arguments, principal, structured).map(r -> result(id, r));
  }

  /**
   * The request's session, which it must name once initialized (400 without one, 404 for one we do
   * not know). {@code id}: the request's, which its error answers with (null for a notification).
   */
  private McpServerSessions.Session session(RoutingContext ctx, String subject, Object id) {
    String sessionId = sessionId(ctx, id);
    McpServerSessions.Session session = sessions.touch(sessionId, subject).orElseThrow(() -> unknownSession(id));
    String version = ctx.request().getHeader(VERSION_HEADER);
    if (version != null && !SUPPORTED.contains(version)) {
      throw new RpcError(400, BAD_TRANSPORT, "Bad Request: unsupported " + VERSION_HEADER + " '" + version
          + "'; supported: " + String.join(", ", SUPPORTED), id);
    }
    return session;
  }

  private static String sessionId(RoutingContext ctx, Object requestId) {
    String id = ctx.request().getHeader(SESSION_HEADER);
    if (id == null || id.isBlank()) {
      throw new RpcError(400, BAD_TRANSPORT, "Bad Request: no " + SESSION_HEADER + " header; send initialize first "
          + "and then the session id it answered with", requestId);
    }
    return id;
  }

  private static RpcError unknownSession(Object requestId) {
    return new RpcError(404, SESSION_NOT_FOUND, "Session not found: it ended or expired; initialize a new one", requestId);
  }

  private static boolean acceptsJson(String accept) {
    if (accept == null || accept.isBlank()) {
      return true;
    }
    String a = accept.toLowerCase(Locale.ROOT);
    return a.contains(JSON) || a.contains("application/*") || a.contains("*/*");
  }

  private static boolean validId(Object id) {
    return id instanceof String || id instanceof Number;
  }

  private static JsonObject rpc(Object id) {
    return new JsonObject().put("jsonrpc", "2.0").put("id", id);
  }

  private static Reply result(Object id, JsonObject result) {
    return new Reply(200, rpc(id).put("result", result), null);
  }

  private static Reply error(Object id, int code, String message) {
    return new Reply(200, rpc(id).put("error", new JsonObject().put("code", code).put("message", message)), null);
  }

  private static Reply failed(Throwable t) {
    if (t instanceof RpcError e) {
      return new Reply(e.status, rpc(e.id).put("error", new JsonObject().put("code", e.code).put("message", e.getMessage())),
          null);
    }
    // a bug of ours, not the client's: said as JSON-RPC, without details
    return new Reply(500, rpc(null).put("error", new JsonObject().put("code", INTERNAL_ERROR).put("message",
        "Internal error: " + Failure.from(t).getMessage())), null);
  }

  /** The one place an MCP answer is written. */
  private static void reply(RoutingContext ctx, Reply r) {
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    response.setStatusCode(r.status());
    if (r.session() != null) {
      response.putHeader(SESSION_HEADER, r.session());
    }
    if (r.body() == null) {
      response.end();
    } else {
      response.putHeader("Content-Type", JSON).end(r.body().toBuffer());
    }
  }
}
