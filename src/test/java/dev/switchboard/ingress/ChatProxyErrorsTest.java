package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** What a client sees when the upstream is down, slow or refuses, or when its request is bad. */
@ExtendWith(VertxExtension.class)
@DisplayName("Chat completions fail with OpenAI-shaped errors and sensible statuses")
class ChatProxyErrorsTest {

  private static final String SHORT_TIMEOUTS = """
      providers:
        - name: "default"
          type: "api_gateway"
          endpoint: "${MODEL_ENDPOINT}"
          auth: { type: "api_key", key: "${MODEL_API_KEY}" }
          models: ["*"]
          timeouts: { connect: 1s, first_token: 1s, total: 1s }
      """;

  FakeUpstream upstream;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private void gatewayWith(TestGateway.Builder builder) {
    gateway = builder.start();
    token = gateway.token("alice");
  }

  private JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "fake-model").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi")));
  }

  private io.vertx.core.Future<HttpResponse<Buffer>> post(JsonObject body) {
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).sendJsonObject(body);
  }

  private static void assertOpenAiError(HttpResponse<Buffer> response, int status, String messagePart) {
    assertEquals(status, response.statusCode(), response.bodyAsString());
    assertTrue(response.getHeader("content-type").startsWith("application/json"));
    JsonObject error = response.bodyAsJsonObject().getJsonObject("error");
    assertTrue(error.getString("message").contains(messagePart), error.encode());
    assertTrue(error.containsKey("type") && error.containsKey("code"), error.encode());
  }

  private static int closedPort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  @DisplayName("a dead upstream gives 502, streaming or not")
  void deadUpstream(Vertx vertx, VertxTestContext ctx) throws Exception {
    gatewayWith(TestGateway.builder().upstream("http://127.0.0.1:" + closedPort() + "/v1"));
    var checks = ctx.checkpoint(2);
    for (boolean stream : new boolean[] {false, true}) {
      post(chat(stream)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
            assertOpenAiError(r, 502, "unreachable");
            checks.flag();
          })));
    }
  }

  @Test
  @DisplayName("an upstream slower than the total timeout gives 504, streaming or not")
  void slowUpstream(Vertx vertx, VertxTestContext ctx) {
    upstream.delay(Duration.ofSeconds(3));
    gatewayWith(TestGateway.builder().upstream(upstream.baseUrl()).file("model_provider.yaml", SHORT_TIMEOUTS));
    var checks = ctx.checkpoint(2);
    for (boolean stream : new boolean[] {false, true}) {
      post(chat(stream)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
            assertOpenAiError(r, 504, "did not answer within 1s");
            checks.flag();
          })));
    }
  }

  @Test
  @DisplayName("an upstream 4xx passes through with its status and message")
  void upstreamClientError(Vertx vertx, VertxTestContext ctx) {
    upstream.respondWith(400, "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\","
        + "\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\"}}");
    gatewayWith(TestGateway.builder().upstream(upstream.baseUrl()));
    var checks = ctx.checkpoint(2);
    for (boolean stream : new boolean[] {false, true}) {
      post(chat(stream)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
            assertOpenAiError(r, 400, "maximum context length");
            assertEquals("context_length_exceeded", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
            checks.flag();
          })));
    }
  }

  @Test
  @DisplayName("an upstream 5xx becomes 502 naming the upstream's status")
  void upstreamServerError(Vertx vertx, VertxTestContext ctx) {
    upstream.respondWith(500, "{\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}");
    gatewayWith(TestGateway.builder().upstream(upstream.baseUrl()));
    post(chat(false)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertOpenAiError(r, 502, "answered 500: overloaded");
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("with no provider configured, chat and models get 503 saying which variables to set")
  void noProvider(Vertx vertx, VertxTestContext ctx) {
    gatewayWith(TestGateway.builder());
    var checks = ctx.checkpoint(3);
    for (boolean stream : new boolean[] {false, true}) {
      post(chat(stream)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
            assertOpenAiError(r, 503, "MODEL_ENDPOINT");
            assertTrue(r.bodyAsString().contains("MODEL_API_KEY"));
            checks.flag();
          })));
    }
    web.getAbs(gateway.url("/v1/models")).bearerTokenAuthentication(token).send()
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertOpenAiError(r, 503, "MODEL_ENDPOINT");
          checks.flag();
        })));
  }

  @Test
  @DisplayName("malformed JSON, a non-object body and a missing model are 400 before any upstream call")
  void badRequests(Vertx vertx, VertxTestContext ctx) {
    gatewayWith(TestGateway.builder().upstream(upstream.baseUrl()));
    String[][] cases = {
        {"{\"model\": \"fake-model\", \"messages\": [", "not valid JSON"},
        {"[1, 2, 3]", "must be a JSON object"},
        {"{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "model parameter"},
        {"{\"model\": \"fake-model\", \"messages\": []}", "messages"},
        {"{\"model\": \"fake-model\", \"stream\": true, \"stream_options\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "stream_options"},
        {"{\"model\": \"fake-model\", \"stream\": true, \"stream_options\": {\"include_usage\": \"yes\"}, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}", "include_usage"},
    };
    var checks = ctx.checkpoint(cases.length);
    for (String[] c : cases) {
      web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
          .putHeader("content-type", "application/json")
          .sendBuffer(Buffer.buffer(c[0]))
          .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
            assertOpenAiError(r, 400, c[1]);
            assertTrue(upstream.chatRequests().isEmpty(), "the upstream must not be called");
            checks.flag();
          })));
    }
  }

  @Test
  @DisplayName("a body over the limit is refused with 413 on every POST route")
  void oversizeBody(Vertx vertx, VertxTestContext ctx) {
    gatewayWith(TestGateway.builder().upstream(upstream.baseUrl()));
    // a declared length over the 4 MB limit is refused before any of it is read; the gateway then
    // reads and drops the body (up to ConnectionGuard.LINGER_BYTES) and closes on its end, so the
    // client reads the 413 instead of a reset
    String huge = "x".repeat(5 * 1024 * 1024);
    JsonObject body = chat(false).put("input", huge);
    var checks = ctx.checkpoint(2);
    for (String path : new String[] {"/v1/chat/completions", "/api/v1/tasks"}) {
      web.postAbs(gateway.url(path)).bearerTokenAuthentication(token)
          .sendJsonObject(body)
          .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
            assertOpenAiError(r, 413, "exceeds the limit");
            checks.flag();
          })));
    }
  }

  @Test
  @DisplayName("a client that hangs up mid-stream makes the gateway cancel the upstream request")
  void clientDisconnectCancelsUpstream(Vertx vertx, VertxTestContext ctx) throws Exception {
    // an upstream that accepts the request, sends nothing, and reports when its client goes away
    var upstreamSawRequest = io.vertx.core.Promise.<Void>promise();
    var upstreamConnectionClosed = ctx.checkpoint();
    var silent = vertx.createHttpServer().requestHandler(req -> {
      req.connection().closeHandler(v -> upstreamConnectionClosed.flag());
      upstreamSawRequest.tryComplete();
    }).listen(0, "127.0.0.1").await(5, TimeUnit.SECONDS);
    gatewayWith(TestGateway.builder().upstream("http://127.0.0.1:" + silent.actualPort() + "/v1"));
    var client = vertx.createHttpClient();
    client.request(io.vertx.core.http.HttpMethod.POST, gateway.port(), "127.0.0.1", "/v1/chat/completions")
        .onComplete(ctx.succeeding(req -> {
          req.putHeader("Authorization", "Bearer " + token).putHeader("content-type", "application/json");
          req.send(chat(true).toBuffer());
          upstreamSawRequest.future().onSuccess(v -> req.connection().close());
        }));
  }
}
