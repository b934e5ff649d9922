package dev.switchboard.ingress;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.Health;
import dev.switchboard.bus.InboundAlert;
import dev.switchboard.bus.InboundDingTalk;
import dev.switchboard.bus.InboundFeishu;
import dev.switchboard.bus.InboundWeCom;
import dev.switchboard.bus.InboundHook;
import dev.switchboard.bus.InboundPlugin;
import dev.switchboard.bus.TaskSubmission;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.mcp.McpServerHandler;
import dev.switchboard.memory.LongTermMemory;
import dev.switchboard.observe.Metrics;
import dev.switchboard.security.AccessSettings;
import dev.switchboard.security.BearerAuthHandler;
import dev.switchboard.security.RateLimitHandler;
import dev.switchboard.security.RateLimits;
import dev.switchboard.security.RouteAccess;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.ServerSSLOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CorsHandler;
import io.vertx.ext.web.handler.HttpException;
import io.vertx.micrometer.PrometheusScrapingHandler;
import io.vertx.micrometer.backends.BackendRegistries;
import java.net.BindException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP edge: routing, authentication, JSON validation, and the OpenAI-compatible and task APIs.
 * It owns no state; every request becomes a bus message to the component that owns the answer,
 * and every failure becomes a status code in {@link #handleError}.
 */
public final class HttpIngressVerticle extends VerticleBase {

  /** The route label of every request no route answered (404s, and requests refused before routing). */
  static final String UNMATCHED = "unmatched";
  /** The route label of CORS preflights, which the CORS handler answers itself. */
  static final String PREFLIGHT = "preflight";
  /** DingTalk and WeCom callbacks are a few KB. */
  static final long SMALL_WEBHOOK_BODY = 64 * 1024;
  /** Feishu events are small too, but carry more (encrypted JSON, cards). */
  static final long FEISHU_WEBHOOK_BODY = 256 * 1024;
  private static final Logger LOG = Logger.getLogger(HttpIngressVerticle.class.getName());
  private static final String JSON = "application/json";
  private static final Duration READY_TIMEOUT = Duration.ofSeconds(3);
  private static final String BODY_LIMIT = "switchboard.bodyLimit";
  private static final String TRACKED = "switchboard.tracked";

  private final ServerSettings settings;
  private final JWTAuth auth;
  private TlsReloader tlsReloader;
  private final AccessSettings access;
  private final Duration chatTimeout;
  private final CallRelay.Overhead overheadReport = this::overhead;
  private final RateLimits rateLimits;
  private HttpServer server;
  private Metrics metrics;
  private ConnectionGuard guard;
  private CorsHandler cors;
  private final dev.switchboard.bridge.BridgeSettings bridge;

  public HttpIngressVerticle(ServerSettings settings, JWTAuth auth, Duration chatTimeout) {
    this(settings, auth, chatTimeout, AccessSettings.DEFAULT, dev.switchboard.bridge.BridgeSettings.OFF, RateLimits.OFF);
  }

  public HttpIngressVerticle(ServerSettings settings, JWTAuth auth, Duration chatTimeout, AccessSettings access,
                             dev.switchboard.bridge.BridgeSettings bridge, RateLimits rateLimits) {
    this.settings = settings;
    this.auth = auth;
    this.chatTimeout = chatTimeout;
    this.access = access;
    this.bridge = bridge;
    this.rateLimits = rateLimits;
  }

  @Override
  public Future<?> start() {
    metrics = Metrics.current();
    HttpServerOptions options = new HttpServerOptions()
        .setHost(settings.host())
        .setPort(settings.port())
        .setCompressionSupported(false)
        // RFC 9110 §7.8 lets a server ignore Upgrade: h2c is answered as the HTTP/1.1 request it also is
        .setHttp2ClearTextEnabled(false)
        // the last resort for a connection on which nothing at all moves, longer than any request
        // may take; header_timeout and idle_timeout (ConnectionGuard) are the bounds that matter
        .setIdleTimeout((int) Math.max(settings.idleTimeout().toSeconds(), chatTimeout.toSeconds()) + 10);
    guard = new ConnectionGuard(vertx, settings, options);
    cors = settings.cors().handler().orElse(null);
    TlsSettings tls = settings.tls();
    Future<String> stamp = tls.enabled() ? vertx.executeBlocking(tls::stamp, false) : Future.succeededFuture("");
    return stamp.compose(inUse -> (tls.enabled() ? vertx.executeBlocking(tls::reload, false) : Future.<ServerSSLOptions>succeededFuture())
        .compose(ssl -> {
          if (ssl != null) {
            TlsSettings.apply(ssl, options);
          }
          return vertx.createHttpServer(options)
              .connectionHandler(guard::connected)
              .invalidRequestHandler(dev.switchboard.observe.RequestIds.http(guard::invalid))
              .requestHandler(dev.switchboard.observe.RequestIds.http(guard.gate(router())))
              .listen()
              .recover(e -> Future.failedFuture(listenFailure(e)));
        })
        .onSuccess(s -> {
          server = s;
          if (tls.enabled()) {
            tlsReloader = new TlsReloader(vertx, s, tls, inUse);
            tlsReloader.start();
            vertx.eventBus().<Object>consumer(Addresses.TLS_RELOAD,
                msg -> tlsReloader.reload().onComplete(ar -> {
                  if (ar.succeeded()) {
                    msg.reply(new JsonObject().put("reloaded", true));
                  } else {
                    Failure.reply(msg, Failure.badRequest("tls_files_refused", ar.cause().getMessage()));
                  }
                }));
          }
        }));
  }

  /** "Address already in use" alone does not say which address, nor what to do about it. */
  private Throwable listenFailure(Throwable e) {
    String where = settings.host() + ":" + settings.port();
    String message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    String lower = message.toLowerCase(Locale.ROOT);
    if (lower.contains("address already in use")) {
      return new IllegalStateException("cannot listen on " + where + ": address already in use (another process, "
          + "perhaps another switchboard, holds it; set SWITCHBOARD_HTTP_PORT or server.port)", e);
    }
    if (e instanceof BindException || lower.contains("cannot assign requested address") || lower.contains("permission denied")) {
      return new IllegalStateException("cannot listen on " + where + ": " + lower + " (set SWITCHBOARD_HTTP_HOST or "
          + "server.host to an address of this machine; ports below 1024 need privileges)", e);
    }
    return new IllegalStateException("cannot listen on " + where + ": " + message, e);
  }

  /**
   * SockJS's send transports carry a JSON array of frames; vertx-web answers a body that is empty or
   * not JSON with a 500, so it is refused here as the client's mistake it is.
   */
  private static void sockJsSendBody(RoutingContext ctx) {
    String path = ctx.request().path();
    if (path.endsWith("/xhr_send")) {
      try {
        if (ctx.body() == null || ctx.body().buffer() == null || ctx.body().length() == 0
            || !(Json.decodeValue(ctx.body().buffer()) instanceof JsonArray frames)
            || !frames.stream().allMatch(f -> f instanceof String)) {
          throw new DecodeException("not an array of strings");
        }
      } catch (DecodeException e) {
        ctx.fail(Failure.badRequest("invalid_sockjs_frame", "a SockJS send body must be a JSON array of strings"));
        return;
      }
    }
    ctx.next();
  }

  /** The port actually bound (useful when the configuration asks for port 0). */
  public int actualPort() {
    return server.actualPort();
  }

  private Router router() {
    Router router = Router.router(vertx);
    Handler<RoutingContext> body = body(settings.maxBodySize());
    RateLimitHandler limits = new RateLimitHandler(vertx, rateLimits);
    // verifies the token, lets on only what its roles and scope allow (security.RouteAccess), then
    // holds the request to its subject's rate limit
    Handler<RoutingContext> bearer = new BearerAuthHandler(auth, access.legacyTokens()).andThen(limits.perSubject());

    // first, on every request and without a path or name (so it adds nothing to the route label)
    router.route().handler(this::edge);
    // the http_request event line (when on): the request id itself is set in front of the server (RequestIds.http)
    router.route().handler(new RequestLog(router));
    // the one failure handler, registered before any sub-router: a failed request is matched against
    // routes in order to find its failure handler, and a sub-router (the SockJS bridge) answers a path
    // it cannot decode with its own plain 400, which would leave a request whose body was never read open
    router.route().failureHandler(this::handleError);
    router.route().handler(new dev.switchboard.audit.AuditTrail(vertx));
    // webhooks are held to their client address's rate limit before their body is read
    router.route().handler(limits.perAddress());

    router.get("/healthz").handler(ctx -> ctx.json(new JsonObject().put("status", "ok")));
    router.get("/readyz").handler(this::ready);
    // the web console's static files: open, like the page of any API client; its API calls carry the token
    dev.switchboard.console.Console.mount(router);
    if (BackendRegistries.getDefaultNow() instanceof PrometheusMeterRegistry) {
      // open by default, as scrapers expect; security.metrics_token puts it behind an admin or operator token
      router.get("/metrics").handler(access.metricsToken() ? bearer : RoutingContext::next).handler(PrometheusScrapingHandler.create());
    }

    // auth and body handlers sit on each route, so the metrics' route label is the endpoint
    // itself; auth first, so that a request without a valid token is refused before its body is
    // read (the gate pauses it until a body handler asks)
    router.post("/v1/chat/completions").handler(bearer).handler(body).handler(this::chat);
    router.get("/v1/models").handler(bearer).handler(this::models);
    router.post("/api/v1/tasks").handler(bearer).handler(body).handler(this::submitTask);
    router.get("/api/v1/tasks").handler(bearer).handler(this::listTasks);
    router.get("/api/v1/tasks/:id").handler(bearer).handler(this::getTask);
    router.post("/api/v1/tasks/:id/cancel").handler(bearer).handler(this::cancelTask);
    router.post("/api/v1/tasks/:id/retry").handler(bearer).handler(this::retryTask);
    router.get("/api/v1/cluster").handler(bearer).handler(this::cluster);
    router.post("/api/v1/tokens/revoke").handler(bearer).handler(body).handler(ctx -> relay(ctx, Addresses.TOKENS_REVOKE, jsonBody(ctx)));
    router.get("/api/v1/deliveries").handler(bearer).handler(this::deliveries);
    router.post("/api/v1/deliveries/:id/retry").handler(bearer).handler(this::retryDelivery);
    router.post("/v1/embeddings").handler(bearer).handler(body).handler(this::embeddings);
    router.post("/api/v1/memories").handler(bearer).handler(body).handler(this::addMemory);
    router.get("/api/v1/memories").handler(bearer).handler(this::listMemories);
    router.get("/api/v1/memories/search").handler(bearer).handler(this::searchMemories);
    router.get("/api/v1/memories/:id").handler(bearer).handler(this::getMemory);
    router.delete("/api/v1/memories/:id").handler(bearer).handler(this::deleteMemory);
    router.get("/api/v1/providers").handler(bearer).handler(this::providers);
    router.get("/api/v1/usage").handler(bearer).handler(this::usage);
    router.post("/api/v1/admin/reload").handler(bearer).handler(ctx -> relay(ctx, Addresses.CONFIG_RELOAD,
        new JsonObject().put("trigger", "api").put("subject", BearerAuthHandler.subject(ctx))));
    router.get("/api/v1/rules").handler(bearer).handler(ctx -> relay(ctx, Addresses.RULES_LIST, null));
    router.put("/api/v1/rules").handler(bearer).handler(body).handler(ctx -> relay(ctx, Addresses.RULES_PUT, jsonBody(ctx)));
    router.post("/api/v1/rules/test").handler(bearer).handler(body).handler(ctx -> relay(ctx, Addresses.RULES_TEST, jsonBody(ctx)));
    router.get("/api/v1/schedules").handler(bearer).handler(this::listSchedules);
    router.post("/api/v1/schedules").handler(bearer).handler(body).handler(this::addSchedule);
    router.delete("/api/v1/schedules/:rule").handler(bearer).handler(this::deleteSchedule);
    router.get("/api/v1/events").handler(bearer).handler(this::listEvents);
    router.get("/api/v1/audit").handler(bearer).handler(ctx -> relay(ctx, Addresses.AUDIT_QUERY, dev.switchboard.audit.AuditTrail.query(ctx)));
    router.get("/api/v1/skills").handler(bearer).handler(ctx -> relay(ctx, Addresses.AGENT_SKILLS, null));
    router.get("/api/v1/plugins").handler(bearer).handler(ctx -> relay(ctx, Addresses.PLUGINS_LIST, null));
    router.post("/api/v1/plugins/:id/disable").handler(bearer).handler(ctx -> relay(ctx, Addresses.PLUGINS_SET,
        new JsonObject().put("id", ctx.pathParam("id")).put("enabled", false)));
    router.post("/api/v1/plugins/:id/enable").handler(bearer).handler(ctx -> relay(ctx, Addresses.PLUGINS_SET,
        new JsonObject().put("id", ctx.pathParam("id")).put("enabled", true)));
    // MCP server (streamable HTTP): the Origin check first (a preflight carries no token), then the API's token
    McpServerHandler mcp = new McpServerHandler(vertx, settings.cors().origins(),
        (subject, family) -> limits.take(subject, family, dev.switchboard.security.RouteFamily.MCP));
    router.post("/mcp").handler(mcp::origin).handler(bearer).handler(body).handler(mcp::post);
    router.get("/mcp").handler(mcp::origin).handler(bearer).handler(mcp::get);
    router.delete("/mcp").handler(mcp::origin).handler(bearer).handler(mcp::delete);
    router.route("/mcp").handler(mcp::origin).handler(mcp::otherMethod);
    // webhooks authenticate by their signature, not by a token; platform callbacks are small,
    // so a larger body is refused (413) before anything parses it
    router.post("/webhooks/hooks/:name").handler(body).handler(this::inboundHook);
    router.post("/webhooks/dingtalk/:bot").handler(body(SMALL_WEBHOOK_BODY)).handler(this::dingtalkCallback);
    router.post("/webhooks/feishu/:bot").handler(body(FEISHU_WEBHOOK_BODY)).handler(this::feishuEvent);
    router.get("/webhooks/wecom/:bot").handler(this::wecomCallback);
    router.post("/webhooks/wecom/:bot").handler(body(SMALL_WEBHOOK_BODY)).handler(this::wecomCallback);
    router.post("/webhooks/alertmanager/:name").handler(body).handler(this::alertmanager);
    // any other platform is a plug-in channel's (channel.Inbound): the raw request goes to it
    router.route("/webhooks/:platform/:bot").method(HttpMethod.GET).method(HttpMethod.POST).handler(body)
        .handler(this::pluginInbound);

    // the SockJS event-bus bridge: its transports that POST need a body handler; each frame is checked by the bridge
    if (bridge.sockjsEnabled()) {
      router.post(bridge.sockjsPath() + "/*").handler(body(SMALL_WEBHOOK_BODY)).handler(HttpIngressVerticle::sockJsSendBody);
      router.route(bridge.sockjsPath() + "/*").subRouter(dev.switchboard.bridge.SockJsBridge.router(vertx, bridge,
          new dev.switchboard.bridge.BridgeAccess(auth, bridge, access.legacyTokens())));
    }

    // one route, one label, for everything no route above answered: under /v1 and /api a token
    // is still needed first, so an unauthenticated client cannot map the API by its 404s
    router.route().last().setName(UNMATCHED)
        .handler(ctx -> {
          // the normalised path, as routes match it: /x/../api/v1/... is under /api too
          if (isApi(ctx.normalizedPath())) {
            bearer.handle(ctx);
          } else {
            ctx.next();
          }
        })
        .handler(ctx -> ctx.fail(Failure.notFound("not_found",
            "no route for " + ctx.request().method() + " " + ctx.request().path())));
    return router;
  }

  private static boolean isApi(String path) {
    return path != null && (path.startsWith("/v1/") || path.startsWith("/api/") || path.equals("/v1") || path.equals("/api"));
  }

  /** A body handler with its own limit, which the 413 it causes names. */
  private Handler<RoutingContext> body(long limit) {
    long bounded = Math.min(limit, settings.maxBodySize());
    BodyHandler handler = BodyHandler.create(false).setBodyLimit(bounded);
    return ctx -> {
      ctx.put(BODY_LIMIT, bounded);
      handler.handle(ctx);
    };
  }

  /**
   * Every request passes here first: its target is made UTF-8 (a raw UTF-8 target is rerouted
   * in its percent-encoded form, so every path and query parameter decodes the same), the
   * connection guard learns when its response ends, and API routes get their CORS headers.
   */
  private void edge(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String target;
    try {
      target = RequestTarget.canonical(request.uri());
    } catch (Failure f) {
      request.routed(UNMATCHED);
      ctx.fail(f);
      return;
    }
    if (!target.equals(request.uri())) {
      ctx.reroute(request.method(), originForm(target));
      return;
    }
    if (ctx.get(TRACKED) == null) {
      ctx.put(TRACKED, Boolean.TRUE);
      ctx.addEndHandler(ar -> guard.responded(request));
    }
    if (cors != null && isApi(request.path())) {
      if (request.method() == HttpMethod.OPTIONS && request.getHeader("Access-Control-Request-Method") != null) {
        request.routed(PREFLIGHT);
      }
      cors.handle(ctx);
    } else {
      ctx.next();
    }
  }

  /** {@code http://host/path?q} (absolute form, which proxies send) as {@code /path?q}. */
  private static String originForm(String target) {
    if (target.startsWith("/")) {
      return target;
    }
    int scheme = target.indexOf("://");
    int slash = scheme < 0 ? -1 : target.indexOf('/', scheme + 3);
    return slash < 0 ? "/" : target.substring(slash);
  }

  private void chat(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    ChatRequest.check(body);
    String subject = BearerAuthHandler.subject(ctx);
    List<String> tags = tags(ctx);
    long arrived = System.nanoTime();
    if (body.containsKey("memory")) {
      withMemories(ctx, body, subject).onSuccess(b -> dispatchChat(ctx, b, subject, tags, arrived)).onFailure(ctx::fail);
      return;
    }
    dispatchChat(ctx, body, subject, tags, arrived);
  }

  /**
   * Opt-in long-term memory for a chat ({@code "memory": true} for the scope {@code user:<user>},
   * or {@code "memory": {"scope": ...}}): what is recalled for the last user message goes in as a
   * system message. The field itself never reaches the upstream. Recall is best effort.
   */
  private Future<JsonObject> withMemories(RoutingContext ctx, JsonObject body, String subject) {
    Object option = body.remove("memory");
    List<String> scopes;
    if (Boolean.FALSE.equals(option)) {
      return Future.succeededFuture(body);
    } else if (Boolean.TRUE.equals(option)) {
      String user = body.getValue("user") instanceof String u && !u.isBlank() ? u : subject;
      if (user == null) {
        throw Failure.badRequest("invalid_memory", "\"memory\": true needs a 'user' (or a token with a subject)");
      }
      scopes = List.of("user:" + user);
    } else if (option instanceof JsonObject o) {
      scopes = TaskBody.memoryScopes(o.getValue("scope"));
      if (scopes.isEmpty()) {
        throw Failure.badRequest("invalid_memory", "'memory.scope' is required");
      }
    } else {
      throw Failure.badRequest("invalid_memory", "'memory' must be true, false or {\"scope\": ...}");
    }
    scopes.forEach(LongTermMemory::checkScope);
    RouteAccess.checkMemoryScopes(ctx, scopes, false);
    JsonArray messages = body.getJsonArray("messages");
    String question = null;
    for (int i = messages.size() - 1; i >= 0 && question == null; i--) {
      if (messages.getValue(i) instanceof JsonObject m && "user".equals(m.getString("role"))
          && m.getValue("content") instanceof String text) {
        question = text;
      }
    }
    if (question == null) {
      return Future.succeededFuture(body);
    }
    JsonObject ask = new JsonObject().put("q", question).put("scopes", new JsonArray(new ArrayList<>(scopes)));
    return vertx.eventBus().<JsonObject>request(Addresses.MEMORY_RECALL, ask).map(reply -> {
      String prompt = reply.body().getString("prompt");
      if (prompt != null) {
        int at = 0;
        while (at < messages.size() && messages.getValue(at) instanceof JsonObject m && "system".equals(m.getString("role"))) {
          at++;
        }
        JsonArray copy = messages.copy();
        copy.getList().add(at, new JsonObject().put("role", "system").put("content", prompt));
        body.put("messages", copy);
      }
      return body;
    }).otherwise(body);
  }

  /** Streaming or not, one call with one id: {@link CallRelay} pipes its events to the response. */
  private void dispatchChat(RoutingContext ctx, JsonObject body, String subject, List<String> tags, long arrived) {
    CallRelay.start(vertx, ctx, body, subject, tags, arrived, chatTimeout, overheadReport);
  }

  /** {@code x-switchboard-tags: trusted, domestic} narrows routing to providers with all of them. */
  private static List<String> tags(RoutingContext ctx) {
    String header = ctx.request().getHeader("x-switchboard-tags");
    if (header == null || header.isBlank()) {
      return List.of();
    }
    List<String> tags = new ArrayList<>();
    for (String t : header.split(",")) {
      if (!t.isBlank()) {
        tags.add(t.trim());
      }
    }
    return List.copyOf(tags);
  }

  /** The gateway's own time: everything but the wait on upstreams, as a header and a metric. */
  private void overhead(RoutingContext ctx, boolean stream, long arrived, long upstreamNanos) {
    long own = Math.max(0, System.nanoTime() - arrived - upstreamNanos);
    metrics.overhead(stream, own);
    ctx.response().putHeader("x-switchboard-overhead-ms", millis(own));
  }

  /** Nanoseconds as milliseconds with three decimals, rounded half up: String.format was a hot spot. */
  static String millis(long nanos) {
    long micros = (nanos + 500) / 1000;
    long fraction = micros % 1000;
    return (micros / 1000) + (fraction < 10 ? ".00" : fraction < 100 ? ".0" : ".") + fraction;
  }

  private void models(RoutingContext ctx) {
    vertx.eventBus().<UpstreamReply>request(Addresses.MODEL_LIST, null, timeout(chatTimeout))
        .onSuccess(reply -> sendReply(ctx, reply.body()))
        .onFailure(ctx::fail);
  }

  private void inboundHook(RoutingContext ctx) {
    var request = ctx.request();
    InboundHook hook = new InboundHook(ctx.pathParam("name"), request.getHeader("x-switchboard-timestamp"),
        request.getHeader("x-switchboard-signature"), request.getHeader("x-switchboard-delivery"),
        ctx.body().buffer() == null ? Buffer.buffer() : ctx.body().buffer(), hookHeaders(request.headers()));
    vertx.eventBus().<JsonObject>request(Addresses.CHANNEL_INBOUND_HOOK, hook)
        .onSuccess(reply -> ctx.response()
            .setStatusCode("duplicate".equals(reply.body().getString("status")) ? 200 : 202)
            .putHeader(HttpHeaderNames.CONTENT_TYPE, JSON)
            .end(reply.body().toBuffer()))
        .onFailure(ctx::fail);
  }

  /** A hook's headers for its event: names in lower case, credentials left out. */
  private static JsonObject hookHeaders(io.vertx.core.MultiMap headers) {
    JsonObject out = new JsonObject();
    headers.forEach((name, value) -> {
      String key = name.toLowerCase(java.util.Locale.ROOT);
      if (!key.equals("authorization") && !key.equals("cookie") && !key.equals("proxy-authorization")) {
        out.put(key, out.getValue(key) instanceof String before ? before + ", " + value : value);
      }
    });
    return out;
  }

  /** Answered at once with an empty 200: the reply comes later, in the conversation. */
  private void dingtalkCallback(RoutingContext ctx) {
    var request = ctx.request();
    InboundDingTalk in = new InboundDingTalk(ctx.pathParam("bot"), request.getHeader("timestamp"), request.getHeader("sign"),
        ctx.body().buffer() == null ? Buffer.buffer() : ctx.body().buffer());
    vertx.eventBus().<JsonObject>request(Addresses.CHANNEL_INBOUND_DINGTALK, in)
        .onSuccess(reply -> ctx.response().setStatusCode(200).end())
        .onFailure(ctx::fail);
  }

  /** Answered with what the channel component says: the challenge, or {"msg": "success"}. */
  private void feishuEvent(RoutingContext ctx) {
    var request = ctx.request();
    InboundFeishu in = new InboundFeishu(ctx.pathParam("bot"), request.getHeader("X-Lark-Request-Timestamp"),
        request.getHeader("X-Lark-Request-Nonce"), request.getHeader("X-Lark-Signature"),
        ctx.body().buffer() == null ? Buffer.buffer() : ctx.body().buffer());
    vertx.eventBus().<JsonObject>request(Addresses.CHANNEL_INBOUND_FEISHU, in)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  /** WeCom wants the bare answer as text: the decrypted echo for the URL check, "success" for messages. */
  private void wecomCallback(RoutingContext ctx) {
    var params = ctx.queryParams();
    boolean verification = ctx.request().method() == HttpMethod.GET;
    if (verification && params.get("echostr") == null) {
      throw Failure.badRequest("missing_echostr", "URL verification needs msg_signature, timestamp, nonce and echostr");
    }
    InboundWeCom in = new InboundWeCom(ctx.pathParam("bot"), params.get("msg_signature"), params.get("timestamp"),
        params.get("nonce"), verification ? params.get("echostr") : null,
        ctx.body() == null || ctx.body().buffer() == null ? Buffer.buffer() : ctx.body().buffer());
    vertx.eventBus().<String>request(Addresses.CHANNEL_INBOUND_WECOM, in)
        .onSuccess(reply -> ctx.response().putHeader(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8").end(reply.body()))
        .onFailure(ctx::fail);
  }

  /** Alertmanager's webhook receiver: a Bearer token (http_config.authorization) or our hooks' signature. */
  private void alertmanager(RoutingContext ctx) {
    var request = ctx.request();
    InboundAlert alert = new InboundAlert(ctx.pathParam("name"), request.getHeader(HttpHeaderNames.AUTHORIZATION),
        request.getHeader("x-switchboard-timestamp"), request.getHeader("x-switchboard-signature"),
        ctx.body().buffer() == null ? Buffer.buffer() : ctx.body().buffer());
    vertx.eventBus().<JsonObject>request(Addresses.CHANNEL_INBOUND_ALERT, alert)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  /** A plug-in channel's request, answered with what the plug-in says once its event is stored. */
  private void pluginInbound(RoutingContext ctx) {
    var request = ctx.request();
    InboundPlugin in = new InboundPlugin(ctx.pathParam("platform"), ctx.pathParam("bot"), request.method().name(),
        joined(request.headers(), true), joined(ctx.queryParams(), false),
        ctx.body() == null || ctx.body().buffer() == null ? Buffer.buffer() : ctx.body().buffer());
    vertx.eventBus().<InboundPlugin.Answer>request(Addresses.CHANNEL_INBOUND_PLUGIN, in)
        .onSuccess(reply -> {
          var response = ctx.response().setStatusCode(reply.body().status());
          reply.body().headers().forEach(response::putHeader);
          response.end(reply.body().body());
        })
        .onFailure(ctx::fail);
  }

  private static java.util.Map<String, String> joined(io.vertx.core.MultiMap map, boolean lowerCase) {
    java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
    map.forEach((name, value) -> out.merge(lowerCase ? name.toLowerCase(java.util.Locale.ROOT) : name, value,
        (before, next) -> before + ", " + next));
    return java.util.Map.copyOf(out);
  }

  private void listEvents(RoutingContext ctx) {
    var params = ctx.queryParams();
    JsonObject query = new JsonObject().put("type", params.get("type")).put("platform", params.get("platform"))
        .put("limit", params.get("limit")).put("cursor", params.get("cursor"));
    vertx.eventBus().<JsonObject>request(Addresses.EVENTS_LIST, query)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  // ---------------------------------------------------------------------------------------------
  // memory

  private void embeddings(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.MEMORY_EMBED, jsonBody(ctx), timeout(chatTimeout))
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void addMemory(RoutingContext ctx) {
    JsonObject body = jsonBody(ctx);
    if (body.getValue("scope") instanceof String scope) {
      RouteAccess.checkMemoryScopes(ctx, List.of(LongTermMemory.checkScope(scope)), true);
    }
    vertx.eventBus().<JsonObject>request(Addresses.MEMORY_ADD, body, timeout(chatTimeout))
        .onSuccess(reply -> ctx.response()
            .setStatusCode(201) // design §3.3: the body's status tells created, duplicate, updated and superseded apart
            .putHeader(HttpHeaderNames.LOCATION, "/api/v1/memories/" + reply.body().getString("id"))
            .putHeader(HttpHeaderNames.CONTENT_TYPE, JSON)
            .end(reply.body().toBuffer()))
        .onFailure(ctx::fail);
  }

  private void searchMemories(RoutingContext ctx) {
    var params = ctx.queryParams();
    List<String> scopes = params.getAll("scope");
    if (scopes.isEmpty()) {
      throw Failure.badRequest("invalid_scope", "a search needs ?scope= (user:<id>, conversation:<platform>:<id>, agent:<name> or tenant:<id>)");
    }
    scopes.forEach(LongTermMemory::checkScope);
    RouteAccess.checkMemoryScopes(ctx, scopes, false);
    JsonObject query = new JsonObject()
        .put("q", params.get("q"))
        .put("scopes", new JsonArray(new ArrayList<>(scopes)))
        .put("k", intParam(params.get("k"), 5, 1, 100, "k"));
    vertx.eventBus().<JsonObject>request(Addresses.MEMORY_SEARCH, query, timeout(chatTimeout))
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void listMemories(RoutingContext ctx) {
    var params = ctx.queryParams();
    if (params.get("scope") == null) {
      throw Failure.badRequest("invalid_scope", "a list needs ?scope=");
    }
    RouteAccess.checkMemoryScopes(ctx, List.of(LongTermMemory.checkScope(params.get("scope"))), false);
    JsonObject query = new JsonObject()
        .put("scope", params.get("scope"))
        .put("status", params.get("status"))
        .put("cursor", params.get("cursor"))
        .put("limit", intParam(params.get("limit"), 50, 1, 1000, "limit"));
    vertx.eventBus().<JsonObject>request(Addresses.MEMORY_LIST, query)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void getMemory(RoutingContext ctx) {
    memoryInScope(ctx, false)
        .onSuccess(ctx::json)
        .onFailure(ctx::fail);
  }

  private void deleteMemory(RoutingContext ctx) {
    // a token held to some memory scopes looks the memory up first, to know whose it is
    Future<?> allowed = BearerAuthHandler.principal(ctx).memoryScopes().isEmpty()
        ? Future.succeededFuture() : memoryInScope(ctx, true);
    allowed.compose(ok -> vertx.eventBus().request(Addresses.MEMORY_DELETE, ctx.pathParam("id")))
        .onSuccess(reply -> ctx.response().setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  /** The memory of the path's id, failed with a 403 when its scope is outside the token's memory_scopes. */
  private Future<JsonObject> memoryInScope(RoutingContext ctx, boolean write) {
    return vertx.eventBus().<JsonObject>request(Addresses.MEMORY_GET, ctx.pathParam("id")).map(reply -> {
      String scope = reply.body().getString("scope");
      RouteAccess.checkMemoryScopes(ctx, List.of(scope == null ? "" : scope), write);
      return reply.body();
    });
  }

  private void listSchedules(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.SCHEDULES_LIST, null)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void addSchedule(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.SCHEDULES_ADD, jsonBody(ctx))
        .onSuccess(reply -> ctx.response().setStatusCode(201)
            .putHeader(HttpHeaderNames.CONTENT_TYPE, JSON)
            .end(reply.body().toBuffer()))
        .onFailure(ctx::fail);
  }

  private void deleteSchedule(RoutingContext ctx) {
    vertx.eventBus().request(Addresses.SCHEDULES_DELETE, ctx.pathParam("rule"))
        .onSuccess(reply -> ctx.response().setStatusCode(204).end())
        .onFailure(ctx::fail);
  }

  private void deliveries(RoutingContext ctx) {
    var params = ctx.queryParams();
    String status = params.get("status");
    if (status != null && !List.of("pending", "delivered", "failed", "dead").contains(status)) {
      throw Failure.badRequest("invalid_status", "'status' must be pending, delivered, failed or dead");
    }
    JsonObject query = new JsonObject()
        .put("status", status)
        .put("channel", params.get("channel"))
        .put("bot", params.get("bot"))
        .put("limit", intParam(params.get("limit"), 100, 1, 1000, "limit"))
        .put("cursor", (long) intParam(params.get("cursor"), 0, 0, Integer.MAX_VALUE, "cursor"));
    vertx.eventBus().<JsonObject>request(Addresses.CHANNEL_DELIVERIES, query)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void retryDelivery(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.CHANNEL_RETRY, ctx.pathParam("id"))
        .onSuccess(reply -> ctx.response().setStatusCode(202)
            .putHeader(HttpHeaderNames.CONTENT_TYPE, JSON).end(reply.body().toBuffer()))
        .onFailure(ctx::fail);
  }

  private static int intParam(String value, int fallback, int min, int max, String name) {
    if (value == null || value.isBlank()) {
      return fallback;
    }
    try {
      int n = Integer.parseInt(value.trim());
      if (n >= min && n <= max) {
        return n;
      }
    } catch (NumberFormatException ignored) {
      // reported below
    }
    throw Failure.badRequest("invalid_" + name, "'" + name + "' must be a whole number from " + min + " to " + max);
  }

  private void providers(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.MODEL_PROVIDERS, null)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void usage(RoutingContext ctx) {
    String by = ctx.queryParams().get("by");
    by = by == null || by.isBlank() ? "provider" : by;
    if (!List.of("provider", "model", "subject", "key").contains(by)) {
      throw Failure.badRequest("invalid_by", "'by' must be provider, model, subject or key");
    }
    vertx.eventBus().<JsonObject>request(Addresses.MODEL_USAGE, by)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void submitTask(RoutingContext ctx) {
    TaskSubmission submission = TaskBody.parse(jsonBody(ctx), ctx.request().getHeader("Idempotency-Key"),
        BearerAuthHandler.subject(ctx));
    // the agent recalls from and remembers into these: both reading and writing
    RouteAccess.checkMemoryScopes(ctx, submission.memoryScopes(), true);
    vertx.eventBus().<JsonObject>request(Addresses.TASK_SUBMIT, submission)
        .onSuccess(reply -> ctx.response()
            .setStatusCode(202)
            .putHeader(HttpHeaderNames.LOCATION, "/api/v1/tasks/" + reply.body().getString("id"))
            .putHeader(HttpHeaderNames.CONTENT_TYPE, JSON)
            .end(reply.body().toBuffer()))
        .onFailure(ctx::fail);
  }

  private void listTasks(RoutingContext ctx) {
    var params = ctx.queryParams();
    String status = params.get("status");
    if (status != null && !List.of("queued", "running", "succeeded", "failed", "cancelled").contains(status)) {
      throw Failure.badRequest("invalid_status", "'status' must be queued, running, succeeded, failed or cancelled");
    }
    String priority = params.get("priority");
    if (priority != null && !List.of("high", "normal", "low").contains(priority)) {
      throw Failure.badRequest("invalid_priority", "'priority' must be high, normal or low");
    }
    JsonObject query = new JsonObject().put("status", status).put("priority", priority)
        .put("limit", intParam(params.get("limit"), 50, 1, 1000, "limit"))
        .put("cursor", params.get("cursor"));
    vertx.eventBus().<JsonObject>request(Addresses.TASK_LIST, query)
        .onSuccess(reply -> ctx.json(ownTasksOnly(ctx, reply.body())))
        .onFailure(ctx::fail);
  }

  private void cancelTask(RoutingContext ctx) {
    ownTask(ctx).compose(own -> vertx.eventBus().<JsonObject>request(Addresses.TASK_CANCEL, ctx.pathParam("id")))
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void retryTask(RoutingContext ctx) {
    ownTask(ctx).compose(own -> vertx.eventBus().<JsonObject>request(Addresses.TASK_RETRY, ctx.pathParam("id")))
        .onSuccess(reply -> ctx.response().setStatusCode(202)
            .putHeader(HttpHeaderNames.LOCATION, "/api/v1/tasks/" + ctx.pathParam("id"))
            .putHeader(HttpHeaderNames.CONTENT_TYPE, JSON).end(reply.body().toBuffer()))
        .onFailure(ctx::fail);
  }

  private void cluster(RoutingContext ctx) {
    vertx.eventBus().<JsonObject>request(Addresses.CLUSTER_INSTANCES, null)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  /** A JSON request answered with the component's JSON as it is (the rules API). */
  private void relay(RoutingContext ctx, String address, JsonObject body) {
    vertx.eventBus().<JsonObject>request(address, body)
        .onSuccess(reply -> ctx.json(reply.body()))
        .onFailure(ctx::fail);
  }

  private void getTask(RoutingContext ctx) {
    ownTask(ctx).onSuccess(ctx::json).onFailure(ctx::fail);
  }

  private static boolean seesEveryTask(RoutingContext ctx) {
    dev.switchboard.security.Principal p = BearerAuthHandler.principal(ctx);
    return p == null || p.seesEveryTask();
  }

  /** The task of the path, when the caller may see it ({@link dev.switchboard.security.Principal#maySee}); else 404, as for none. */
  private Future<JsonObject> ownTask(RoutingContext ctx) {
    String id = ctx.pathParam("id");
    return vertx.eventBus().<JsonObject>request(Addresses.TASK_GET, id).map(Message::body).compose(task ->
        seesEveryTask(ctx) || BearerAuthHandler.subject(ctx).equals(task.getString("subject"))
            ? Future.succeededFuture(task)
            : Future.failedFuture(Failure.notFound("task_not_found", "no task '" + id + "'")));
  }

  /** A page of tasks with a client's view: its own only (a page may then hold fewer than its limit). */
  private static JsonObject ownTasksOnly(RoutingContext ctx, JsonObject page) {
    if (seesEveryTask(ctx) || !(page.getValue("data") instanceof JsonArray data)) {
      return page;
    }
    String subject = BearerAuthHandler.subject(ctx);
    JsonArray own = new JsonArray();
    data.forEach(t -> {
      if (t instanceof JsonObject task && subject.equals(task.getString("subject"))) {
        own.add(task);
      }
    });
    return page.copy().put("data", own);
  }

  private void ready(RoutingContext ctx) {
    DeliveryOptions quick = timeout(READY_TIMEOUT);
    EventBus bus = vertx.eventBus();
    List<Future<Message<Health>>> asks = List.of(
        bus.request(Addresses.TASK_HEALTH, null, quick),
        bus.request(Addresses.MODEL_HEALTH, null, quick),
        bus.request(Addresses.MEMORY_HEALTH, null, quick),
        bus.request(Addresses.CHANNEL_HEALTH, null, quick),
        bus.request(Addresses.RULES_HEALTH, null, quick),
        bus.request(Addresses.EVENTS_HEALTH, null, quick),
        bus.request(Addresses.AUDIT_HEALTH, null, quick));
    List<String> owners = List.of("tasks", "model", "memory", "channels", "rules", "events", "audit");
    Future<Message<JsonObject>> self = bus.request(Addresses.CLUSTER_SELF, null, quick);
    List<Future<?>> all = new ArrayList<>(asks);
    all.add(self);
    Future.join(all).onComplete(ignored -> {
      JsonObject components = new JsonObject();
      for (int i = 0; i < asks.size(); i++) {
        Future<Message<Health>> ask = asks.get(i);
        if (ask.succeeded()) {
          components.mergeIn(ask.result().body().entries());
        } else {
          components.put(owners.get(i), new JsonObject().put("status", "down").put("required", true)
              .put("error", String.valueOf(ask.cause().getMessage())));
        }
      }
      boolean ready = new Health(components).ready();
      JsonObject answer = new JsonObject().put("status", ready ? "ready" : "not_ready");
      if (self.succeeded()) {
        answer.put("instance", new JsonObject().put("id", self.result().body().getString("id"))
            .put("leader", self.result().body().getBoolean("leader")));
      }
      ctx.response().setStatusCode(ready ? 200 : 503).putHeader(HttpHeaderNames.CONTENT_TYPE, JSON)
          .end(answer.put("components", components).toBuffer());
    });
  }

  /**
   * The one place where a failure becomes a status code and an OpenAI-shaped error body. When
   * the request's body has not been read (refused before or while reading it), the connection is
   * closed after the answer: what is left of the body would be read as the next request.
   */
  private void handleError(RoutingContext ctx) {
    HttpServerResponse response = ctx.response();
    if (response.ended() || response.closed()) {
      return;
    }
    if (response.headWritten()) {
      response.reset();
      return;
    }
    Failure failure = failure(ctx);
    if (failure.status() == 401) {
      response.putHeader(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
    }
    if (failure.retryAfterSeconds() > 0) {
      response.putHeader(HttpHeaderNames.RETRY_AFTER, String.valueOf(failure.retryAfterSeconds()));
    }
    HttpServerRequest request = ctx.request();
    boolean close = !ConnectionGuard.bodyRead(request);
    if (close) {
      response.putHeader(HttpHeaderNames.CONNECTION, "close");
      // before end(): ending the response is what hands Vert.x's next pipelined request over
      guard.lastOnConnection(request);
    }
    response.setStatusCode(failure.status())
        .putHeader(HttpHeaderNames.CONTENT_TYPE, JSON)
        .end(failure.toJson().toBuffer())
        .onComplete(ar -> {
          if (close) {
            ConnectionGuard.closeWhenDrained(vertx, request);
          }
        });
  }

  /** Our failures as they are; vertx-web's (status and exception) by their status; anything else is our bug. */
  private Failure failure(RoutingContext ctx) {
    Throwable t = ctx.failure();
    if (t == null) {
      return fromStatus(ctx, ctx.statusCode(), null);
    }
    if (t instanceof Failure || t instanceof ReplyException || t instanceof DecodeException) {
      return Failure.from(t);
    }
    if (t instanceof HttpException http) {
      return fromStatus(ctx, http.getStatusCode(), http.getPayload());
    }
    if (ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      // vertx-web refusing the request itself (a malformed body, a missing Host): the client's error
      return fromStatus(ctx, ctx.statusCode(), t.getMessage());
    }
    LOG.log(Level.SEVERE, "unexpected failure answering " + ctx.request().method() + " " + ctx.request().path(), t);
    return Failure.from(t);
  }

  private Failure fromStatus(RoutingContext ctx, int status, String detail) {
    Long limit = ctx.get(BODY_LIMIT);
    return switch (status) {
      case 413 -> new Failure(413, "invalid_request_error", "payload_too_large",
          "request body exceeds the limit of " + (limit != null ? limit : settings.maxBodySize()) + " bytes");
      case 404 -> Failure.notFound("not_found", "not found");
      case 405 -> new Failure(405, "invalid_request_error", "method_not_allowed", "method not allowed on this path");
      case 400 -> Failure.badRequest("bad_request", detail == null || detail.isBlank() ? "bad request" : detail);
      case 403 -> new Failure(403, "invalid_request_error", "forbidden", detail == null ? "forbidden" : detail);
      case 417 -> new Failure(417, "invalid_request_error", "expectation_failed", "the only expectation the gateway meets is 100-continue");
      default -> status >= 400 && status < 500
          ? new Failure(status, "invalid_request_error", null, detail == null || detail.isBlank() ? "request rejected" : detail)
          : Failure.internal("internal error");
    };
  }

  static void sendReply(RoutingContext ctx, UpstreamReply reply) {
    ctx.response()
        .setStatusCode(reply.status())
        .putHeader(HttpHeaderNames.CONTENT_TYPE, reply.contentType() != null ? reply.contentType() : JSON)
        .end(reply.body());
  }

  private static JsonObject jsonBody(RoutingContext ctx) {
    Buffer raw = ctx.body().buffer();
    if (raw == null || raw.length() == 0) {
      throw Failure.badRequest("invalid_json", "request body is empty: send a JSON object");
    }
    Object parsed;
    try {
      parsed = raw.toJsonValue();
    } catch (RuntimeException e) {
      throw Failure.badRequest("invalid_json", "request body is not valid JSON");
    }
    if (!(parsed instanceof JsonObject object)) {
      throw Failure.badRequest("invalid_json", "request body must be a JSON object");
    }
    return object;
  }

  private static DeliveryOptions timeout(Duration d) {
    return new DeliveryOptions().setSendTimeout(d.toMillis());
  }
}
