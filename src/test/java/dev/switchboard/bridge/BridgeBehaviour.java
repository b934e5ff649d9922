package dev.switchboard.bridge;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Tokens;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.net.ServerSocket;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What both event-bus bridges promise, run against each (TcpBridgeTest, SockJsBridgeTest): a
 * client with a token may use the configured public addresses its role allows, and anything
 * else is answered {@code access_denied} with nothing done. Against a real gateway and a fake model.
 */
@ExtendWith(VertxExtension.class)
abstract class BridgeBehaviour {

  static final String CONF = """
      queue:
        workers: 1
        max_attempts: 1
        shutdown_grace: 1s
      security:
        jwt_secret: "${SWITCHBOARD_JWT_SECRET:-}"
        rate_limits:
          subjects: { "limited": { rate: 1, per: 1h, burst: 1 } }
      bridge:
        tcp: { enabled: true, host: "127.0.0.1", port: %d }
        sockjs: { enabled: true, path: "/eventbus" }
      """;

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;
  int tcpPort;
  BridgeClient client;

  /** A client connected to this bridge, its connect request carrying {@code authorization} (TCP has none). */
  abstract BridgeClient connect() throws Exception;

  /** Whether {@code frame} is the bridge's refusal. */
  abstract boolean denied(JsonObject frame);

  /** Whether {@code frame} is a message for {@code address} (a reply, or a registered address's). */
  abstract boolean message(JsonObject frame, String address);

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    try (ServerSocket free = new ServerSocket(0)) {
      tcpPort = free.getLocalPort();
    }
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).file("switchboard.yaml", CONF.formatted(tcpPort)).start();
    client = connect();
  }

  @AfterEach
  void stop() {
    if (client != null) {
      client.close();
    }
    if (gateway != null) {
      gateway.close();
    }
  }

  String token(String subject, String... roles) {
    Vertx v = Vertx.vertx();
    try {
      JsonObject claims = roles.length == 0 ? new JsonObject() : new JsonObject().put("roles", new JsonArray(List.of(roles)));
      return Tokens.auth(v, new JwtSecret(TestGateway.SECRET, "test"))
          .generateToken(claims, new JWTOptions().setAlgorithm("HS256").setSubject(subject).setExpiresInSeconds(3600));
    } finally {
      v.close();
    }
  }

  static JsonObject request(String address, String token, Object body) {
    return BridgeClient.frame("send", address, token, body).put("replyAddress", UUID.randomUUID().toString());
  }

  static JsonObject task(String input) {
    return new JsonObject().put("input", input).put("model", "fake-model");
  }

  /** The tasks the gateway holds, as the HTTP API lists them. */
  JsonArray tasks() throws Exception {
    return WebClient.create(vertx).getAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(gateway.token("ops"))
        .send().await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
  }

  @Test
  @DisplayName("a client with a good token submits a task, gets the 202 body as the reply, and receives its result event")
  void submitsATaskAndReceivesItsResult() throws Exception {
    String token = token("alice");
    client.send(BridgeClient.frame("register", PublicApi.TASKS_EVENTS, token, null));
    client.drain();
    JsonObject submit = request(PublicApi.TASKS_SUBMIT, token, task("hello over the bridge"));
    client.send(submit);
    JsonObject reply = client.next(f -> message(f, submit.getString("replyAddress")));
    String id = reply.getJsonObject("body").getString("id");
    assertNotNull(id, reply.encode());
    assertEquals("queued", reply.getJsonObject("body").getString("status"));
    JsonObject done = client.next(f -> message(f, PublicApi.TASKS_EVENTS)
        && id.equals(f.getJsonObject("body").getString("id")) && !"queued".equals(f.getJsonObject("body").getString("status")));
    assertEquals("succeeded", done.getJsonObject("body").getString("status"), done.encode());
    assertFalse(done.getJsonObject("body").getString("result", "").isEmpty(), done.encode());
  }

  @Test
  @DisplayName("a frame with a bad token is answered access_denied, and no task is queued")
  void badTokenIsDenied() throws Exception {
    client.send(request(PublicApi.TASKS_SUBMIT, "not.a.jwt", task("never")));
    assertTrue(denied(client.next()));
    assertTrue(tasks().isEmpty());
  }

  @Test
  @DisplayName("a frame without a token, on a connection no token authenticated, is answered access_denied")
  void noTokenIsDenied() throws Exception {
    client.send(request(PublicApi.TASKS_SUBMIT, null, task("never")));
    assertTrue(denied(client.next()));
    assertTrue(tasks().isEmpty());
  }

  @Test
  @DisplayName("an address that is not a configured public one is answered access_denied, even with a good token")
  void internalAddressIsDenied() throws Exception {
    client.send(request("task.submit", token("alice"), task("never")));
    assertTrue(denied(client.next()));
    client.send(BridgeClient.frame("register", "events.raise", token("alice"), null));
    assertTrue(denied(client.next()));
    assertTrue(tasks().isEmpty());
  }

  @Test
  @DisplayName("a client role may submit tasks but not push to a bot nor receive platform events")
  void clientRoleIsNarrower() throws Exception {
    String token = token("app", "client");
    client.send(request(PublicApi.PUSH, token, new JsonObject().put("channel", "dingtalk").put("text", "hi")));
    assertTrue(denied(client.next()));
    client.send(BridgeClient.frame("register", PublicApi.EVENTS, token, null));
    assertTrue(denied(client.next()));
    JsonObject submit = request(PublicApi.TASKS_SUBMIT, token, task("allowed"));
    client.send(submit);
    assertEquals("queued", client.next(f -> message(f, submit.getString("replyAddress"))).getJsonObject("body").getString("status"));
  }

  @Test
  @DisplayName("the first frame with a valid token authenticates the connection for the frames after it")
  void firstTokenAuthenticatesTheConnection() throws Exception {
    client.send(BridgeClient.frame("register", PublicApi.TASKS_EVENTS, token("alice"), null));
    JsonObject submit = request(PublicApi.TASKS_SUBMIT, null, task("no token on this frame"));
    client.send(submit);
    JsonObject reply = client.next(f -> message(f, submit.getString("replyAddress")));
    assertEquals("queued", reply.getJsonObject("body").getString("status"), reply.encode());
  }

  @Test
  @DisplayName("a token revoked after it authenticated the connection is refused on the frames after it")
  void revokedTokenStopsTheConnection() throws Exception {
    String token = token("alice");
    JsonObject first = request(PublicApi.TASKS_SUBMIT, token, task("before the revocation"));
    client.send(first);
    client.next(f -> message(f, first.getString("replyAddress")));
    var revoked = WebClient.create(vertx).postAbs(gateway.url("/api/v1/tokens/revoke")).bearerTokenAuthentication(gateway.token("ops"))
        .sendJsonObject(new JsonObject().put("token", token)).await(10, TimeUnit.SECONDS);
    assertEquals(200, revoked.statusCode(), revoked.bodyAsString());
    client.send(request(PublicApi.TASKS_SUBMIT, null, task("after the revocation")));
    assertTrue(denied(client.next()));
    assertEquals(1, tasks().size());
  }

  @Test
  @DisplayName("the token does not travel the bus: the public address gets the verified subject instead of what the client claims")
  void tokenStaysAtTheEdge() throws Exception {
    List<MultiMap> seen = new CopyOnWriteArrayList<>();
    gateway.vertx().eventBus().addInboundInterceptor(ctx -> {
      if (PublicApi.TASKS_SUBMIT.equals(ctx.message().address())) {
        seen.add(ctx.message().headers());
      }
      ctx.next();
    });
    JsonObject submit = request(PublicApi.TASKS_SUBMIT, token("alice"), task("whose?"));
    submit.getJsonObject("headers").put(BridgeAccess.SUBJECT_HEADER, "mallory");
    client.send(submit);
    client.next(f -> message(f, submit.getString("replyAddress")));
    assertEquals(1, seen.size());
    assertNull(seen.get(0).get("authorization"));
    assertEquals("alice", seen.get(0).get(BridgeAccess.SUBJECT_HEADER));
  }

  @Test
  @DisplayName("a task's memory_scope outside the token's memory_scopes is answered 403, and no task is queued")
  void taskMemoryScopeOutsideTheTokensIsRefused() throws Exception {
    String token;
    Vertx v = Vertx.vertx();
    try {
      token = Tokens.auth(v, new JwtSecret(TestGateway.SECRET, "test")).generateToken(new JsonObject()
              .put("roles", new JsonArray().add("client")).put("memory_scopes", new JsonArray().add("user:alice")),
          new JWTOptions().setAlgorithm("HS256").setSubject("alice").setExpiresInSeconds(3600));
    } finally {
      v.close();
    }
    JsonObject submit = request(PublicApi.TASKS_SUBMIT, token, task("recall bob's secrets").put("memory_scope", "user:bob"));
    // a client cannot widen its memory scopes by claiming them in a header either
    submit.getJsonObject("headers").put(BridgeAccess.PRINCIPAL_HEADER, new JsonObject().put("roles", new JsonArray().add("admin")).encode());
    client.send(submit);
    JsonObject err = client.next(f -> "err".equals(f.getString("type")));
    assertEquals(403, err.getInteger("failureCode"), err.encode());
    assertEquals("memory_scope_forbidden", new JsonObject(err.getString("message")).getJsonObject("error").getString("code"));
    assertTrue(tasks().isEmpty());
  }

  @Test
  @DisplayName("a task body the HTTP API would refuse is answered with its 400 error, naming the field")
  void badBodyIsTheHttpApisError() throws Exception {
    JsonObject submit = request(PublicApi.TASKS_SUBMIT, token("alice"), new JsonObject().put("model", "fake-model"));
    client.send(submit);
    JsonObject err = client.next(f -> "err".equals(f.getString("type")));
    assertEquals(400, err.getInteger("failureCode"), err.encode());
    assertEquals("missing_input", new JsonObject(err.getString("message")).getJsonObject("error").getString("code"));
  }

  @Test
  @DisplayName("a task for a memory scope outside the token's memory_scopes is refused 403 as over HTTP, and not queued")
  void memoryScopeOutsideTheTokenIsRefused() throws Exception {
    Vertx v = Vertx.vertx();
    String token;
    try {
      token = Tokens.auth(v, new JwtSecret(TestGateway.SECRET, "test")).generateToken(
          new JsonObject().put("roles", new JsonArray(List.of("client"))).put("memory_scopes", new JsonArray(List.of("user:alice"))),
          new JWTOptions().setAlgorithm("HS256").setSubject("alice").setExpiresInSeconds(3600));
    } finally {
      v.close();
    }
    JsonObject submit = request(PublicApi.TASKS_SUBMIT, token, task("read bob's memories").put("memory_scope", "user:bob"));
    client.send(submit);
    JsonObject err = client.next(f -> "err".equals(f.getString("type")) || message(f, submit.getString("replyAddress")));
    assertEquals("err", err.getString("type"), err.encode());
    assertEquals(403, err.getInteger("failureCode"), err.encode());
    assertEquals("memory_scope_forbidden", new JsonObject(err.getString("message")).getJsonObject("error").getString("code"));
    assertTrue(tasks().isEmpty());
    JsonObject own = request(PublicApi.TASKS_SUBMIT, token, task("my own memories").put("memory_scope", "user:alice"));
    client.send(own);
    assertEquals("queued", client.next(f -> message(f, own.getString("replyAddress"))).getJsonObject("body").getString("status"));
  }

  @Test
  @DisplayName("a connection that brings no valid token in its first seconds is closed, however often it pings")
  void unauthenticatedConnectionIsClosed() throws Exception {
    try (BridgeClient idle = connect()) {
      long until = System.currentTimeMillis() + BridgeAccess.AUTH_WINDOW_MS + 10_000;
      while (!idle.closed() && System.currentTimeMillis() < until) {
        idle.send(new JsonObject().put("type", "ping"));
        Thread.sleep(1_000);
      }
      assertTrue(idle.closed());
    }
  }

  @Test
  @DisplayName("a connection that brought a valid token stays open past that window")
  void authenticatedConnectionStaysOpen() throws Exception {
    client.send(BridgeClient.frame("register", PublicApi.TASKS_EVENTS, token("alice"), null));
    long until = System.currentTimeMillis() + BridgeAccess.AUTH_WINDOW_MS + 2_000;
    while (System.currentTimeMillis() < until) {
      client.send(new JsonObject().put("type", "ping"));
      Thread.sleep(1_000);
    }
    assertFalse(client.closed());
  }

  @Test
  @DisplayName("a token revoked after it authenticated the connection serves no more frames on it, and no more events")
  void revokedTokenGetsNoMoreFramesNorEvents() throws Exception {
    String token = gateway.token("alice");
    client.send(BridgeClient.frame("register", PublicApi.TASKS_EVENTS, token, null));
    client.drain();
    JsonObject claims = new JsonObject(new String(java.util.Base64.getUrlDecoder().decode(token.split("\\.")[1]),
        java.nio.charset.StandardCharsets.UTF_8));
    int status = WebClient.create(vertx).postAbs(gateway.url("/api/v1/tokens/revoke"))
        .bearerTokenAuthentication(token("root", "admin"))
        .sendJsonObject(new JsonObject().put("jti", claims.getString("jti")).put("exp", claims.getLong("exp")))
        .await(10, TimeUnit.SECONDS).statusCode();
    assertTrue(status < 300, "revoked: " + status);

    client.send(request(PublicApi.TASKS_SUBMIT, null, task("after the revocation")));
    assertTrue(denied(client.next()));
    assertTrue(tasks().isEmpty());
    // a task of someone else: its events no longer reach the revoked connection
    WebClient.create(vertx).postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(gateway.token("bob"))
        .sendJsonObject(task("bob's")).await(10, TimeUnit.SECONDS);
    assertTrue(client.drain().stream().noneMatch(f -> message(f, PublicApi.TASKS_EVENTS)), "no events after the revocation");
  }

  @Test
  @DisplayName("a client gets only its own tasks: another subject's is answered 404, as for none")
  void anotherClientsTaskIsNotFound() throws Exception {
    JsonObject submitted = WebClient.create(vertx).postAbs(gateway.url("/api/v1/tasks"))
        .bearerTokenAuthentication(token("alice", "client")).sendJsonObject(task("alice's").put("delay", "1h"))
        .await(10, TimeUnit.SECONDS).bodyAsJsonObject();
    JsonObject asBob = request(PublicApi.TASKS_GET, token("bob", "client"), new JsonObject().put("id", submitted.getString("id")));
    client.send(asBob);
    JsonObject err = client.next(f -> "err".equals(f.getString("type")) || message(f, asBob.getString("replyAddress")));
    assertEquals(404, err.getInteger("failureCode"), err.encode());
    JsonObject asAlice = request(PublicApi.TASKS_GET, token("alice", "client"), new JsonObject().put("id", submitted.getString("id")));
    client.send(asAlice);
    assertEquals("alice", client.next(f -> message(f, asAlice.getString("replyAddress"))).getJsonObject("body").getString("subject"));
  }

  /** The audit records of {@code action}, as the admin API lists them. */
  JsonArray audit(String action) throws Exception {
    return WebClient.create(vertx).getAbs(gateway.url("/api/v1/audit?action=" + action)).bearerTokenAuthentication(token("root", "admin"))
        .send().await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
  }

  @Test
  @DisplayName("a refused frame leaves an audit record: a bad token an authentication failure, a forbidden address one for its subject")
  void refusalsAreAudited() throws Exception {
    client.send(request(PublicApi.TASKS_SUBMIT, "not.a.jwt", task("never")));
    assertTrue(denied(client.next()));
    client.send(BridgeClient.frame("register", PublicApi.EVENTS, token("app", "client"), null));
    assertTrue(denied(client.next()));

    dev.switchboard.cluster.Until.holds(java.time.Duration.ofSeconds(15), "the refusals recorded",
        () -> !audit("auth.failure").isEmpty() && !audit("auth.forbidden").isEmpty());
    JsonObject failure = audit("auth.failure").getJsonObject(0);
    assertEquals(PublicApi.TASKS_SUBMIT, failure.getString("target"), failure.encode());
    assertEquals("", failure.getString("subject"));
    assertFalse(failure.encode().contains("not.a.jwt"), "the token itself is not kept");
    JsonObject forbidden = audit("auth.forbidden").getJsonObject(0);
    assertEquals(PublicApi.EVENTS, forbidden.getString("target"), forbidden.encode());
    assertEquals("app", forbidden.getString("subject"));
  }

  @Test
  @DisplayName("the rate limit of the token's subject holds on the bridges too: past it a request is answered 429, and not queued")
  void rateLimitHolds() throws Exception {
    String token = token("limited");
    JsonObject first = request(PublicApi.TASKS_SUBMIT, token, task("within the limit"));
    client.send(first);
    assertEquals("queued", client.next(f -> message(f, first.getString("replyAddress"))).getJsonObject("body").getString("status"));
    JsonObject second = request(PublicApi.TASKS_SUBMIT, token, task("past the limit"));
    client.send(second);
    JsonObject err = client.next(f -> "err".equals(f.getString("type")) || message(f, second.getString("replyAddress")));
    assertEquals("err", err.getString("type"), err.encode());
    assertEquals(429, err.getInteger("failureCode"), err.encode());
    assertEquals("rate_limit_exceeded", new JsonObject(err.getString("message")).getJsonObject("error").getString("code"));
    assertEquals(1, tasks().size());
  }
}
