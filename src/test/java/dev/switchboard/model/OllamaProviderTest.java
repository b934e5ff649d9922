package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The second provider type, loaded through the ModelProvider SPI: Ollama's native API behind the
 * gateway's OpenAI face. The upstream here speaks /api/chat (NDJSON when streaming) and /api/tags.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("An Ollama-native upstream through the provider SPI")
class OllamaProviderTest {

  static Vertx vertx;
  static HttpServer ollama;
  static final List<JsonObject> received = new CopyOnWriteArrayList<>();
  static TestGateway gateway;
  static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    ollama = vertx.createHttpServer().requestHandler(req -> {
      if ("/api/tags".equals(req.path())) {
        req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("models", new JsonArray().add(new JsonObject().put("name", "qwen2.5:7b"))).encode());
        return;
      }
      req.body().onSuccess(b -> {
        JsonObject body = b.toJsonObject();
        received.add(body);
        String last = body.getJsonArray("messages").getJsonObject(body.getJsonArray("messages").size() - 1).getString("content");
        String at = "2026-11-25T10:00:00Z";
        if ("endless".equals(last)) {
          // a body (or, streamed, one NDJSON line) that never ends, written as fast as it is read
          var res = req.response().setChunked(true).putHeader("content-type", "application/json");
          res.write("{\"model\":\"qwen2.5:7b\",\"message\":{\"role\":\"assistant\",\"content\":\"");
          endless(res);
          return;
        }
        if (!body.getBoolean("stream", true)) {
          req.response().putHeader("content-type", "application/json").end(new JsonObject()
              .put("model", body.getString("model")).put("created_at", at)
              .put("message", new JsonObject().put("role", "assistant").put("content", "ollama says " + last))
              .put("done", true).put("done_reason", "stop").put("prompt_eval_count", 7).put("eval_count", 3).encode());
          return;
        }
        var res = req.response().setChunked(true).putHeader("content-type", "application/x-ndjson");
        for (String piece : new String[] {"ollama ", "says ", last}) {
          res.write(new JsonObject().put("model", body.getString("model")).put("created_at", at)
              .put("message", new JsonObject().put("role", "assistant").put("content", piece)).put("done", false).encode() + "\n");
        }
        res.end(new JsonObject().put("model", body.getString("model")).put("created_at", at)
            .put("message", new JsonObject().put("role", "assistant").put("content", ""))
            .put("done", true).put("done_reason", "stop").put("prompt_eval_count", 7).put("eval_count", 3).encode() + "\n");
      });
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().file("model_provider.yaml", """
        providers:
          - name: "local-ollama"
            type: "ollama"
            endpoint: "http://127.0.0.1:%d"
            auth: { type: "none" }
            models: ["qwen2.5:7b"]
            timeouts: { total: 10s }
        """.formatted(ollama.actualPort())).start();
    client = OpenAIOkHttpClient.builder().baseUrl(gateway.url("/v1")).apiKey(gateway.token("sdk")).maxRetries(0).build();
  }

  private static final io.vertx.core.buffer.Buffer PIECE = io.vertx.core.buffer.Buffer.buffer("a".repeat(64 * 1024));

  private static void endless(io.vertx.core.http.HttpServerResponse res) {
    while (!res.closed() && !res.writeQueueFull()) {
      res.write(PIECE);
    }
    if (!res.closed()) {
      res.drainHandler(v -> endless(res));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static ChatCompletionCreateParams.Builder ask() {
    return ChatCompletionCreateParams.builder().model("qwen2.5:7b").addUserMessage("你好").temperature(0.3).maxCompletionTokens(64);
  }

  @Test
  @DisplayName("a completion is translated both ways: options into Ollama's form, the answer into OpenAI's with usage")
  void nonStreaming() {
    ChatCompletion c = client.chat().completions().create(ask().build());
    assertEquals("ollama says 你好", c.choices().get(0).message().content().orElseThrow());
    assertEquals(10, c.usage().orElseThrow().totalTokens());
    JsonObject sent = received.get(received.size() - 1);
    assertEquals(0.3, sent.getJsonObject("options").getDouble("temperature"), 1e-9);
    assertEquals(64, sent.getJsonObject("options").getInteger("num_predict"));
    assertEquals(false, sent.getBoolean("stream"));
  }

  @Test
  @DisplayName("NDJSON streaming comes out as OpenAI chunks ending in [DONE]")
  void streaming() {
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(ask().build())) {
      String text = stream.stream().flatMap(ch -> ch.choices().stream())
          .map(ch -> ch.delta().content().orElse("")).collect(Collectors.joining());
      assertEquals("ollama says 你好", text);
    }
  }

  private static io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer> post(boolean stream) throws Exception {
    JsonObject body = new JsonObject().put("model", "qwen2.5:7b").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "endless")));
    io.vertx.ext.web.client.WebClient web = io.vertx.ext.web.client.WebClient.create(vertx);
    try {
      return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(gateway.token("t"))
          .sendJsonObject(body).await(30, TimeUnit.SECONDS);
    } finally {
      web.close();
    }
  }

  @Test
  @DisplayName("an Ollama answer that never ends is a 502 naming limits.max_response_size (16 MB by default)")
  void endlessAnswerIsBounded() throws Exception {
    var r = post(false);
    assertEquals(502, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("larger than 16 MB (limits.max_response_size)"), r.bodyAsString());
  }

  @Test
  @DisplayName("an NDJSON line that never ends is a 502 naming limits.max_event_size (1 MB by default)")
  void endlessLineIsBounded() throws Exception {
    var r = post(true);
    assertEquals(502, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("more than 1 MB without completing a stream event"), r.bodyAsString());
  }

  @Test
  @DisplayName("the model list includes the configured Ollama model")
  void models() {
    assertTrue(client.models().list().data().stream().anyMatch(m -> m.id().equals("qwen2.5:7b")));
  }
}
