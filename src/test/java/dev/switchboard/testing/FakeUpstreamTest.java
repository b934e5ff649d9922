package dev.switchboard.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
@DisplayName("FakeUpstream, the OpenAI-compatible fake model server")
class FakeUpstreamTest {

  private FakeUpstream fake;
  private WebClient client;

  @BeforeEach
  void start(Vertx vertx, VertxTestContext testContext) {
    client = WebClient.create(vertx);
    FakeUpstream.start(vertx).onComplete(testContext.succeeding(started -> {
      fake = started;
      testContext.completeNow();
    }));
  }

  @AfterEach
  void stop(VertxTestContext testContext) {
    client.close();
    fake.close().onComplete(testContext.succeedingThenComplete());
  }

  private static JsonObject chat(String userText) {
    return new JsonObject()
      .put("model", "fake-model")
      .put("messages", new JsonArray()
        .add(new JsonObject().put("role", "system").put("content", "be brief"))
        .add(new JsonObject().put("role", "user").put("content", "an earlier question"))
        .add(new JsonObject().put("role", "assistant").put("content", "an earlier answer"))
        .add(new JsonObject().put("role", "user").put("content", userText)));
  }

  private io.vertx.core.Future<HttpResponse<Buffer>> post(String path, JsonObject body) {
    return client.postAbs(fake.baseUrl() + path).bearerTokenAuthentication("sk-test").sendJsonObject(body);
  }

  /** The JSON payloads of the {@code data:} events of an SSE body, without the final [DONE]. */
  private static List<JsonObject> sseChunks(String body) {
    List<JsonObject> chunks = new ArrayList<>();
    for (String event : body.split("\n\n")) {
      assertTrue(event.startsWith("data: "), "every event is a data line: " + event);
      String data = event.substring("data: ".length());
      if (!data.equals("[DONE]")) {
        chunks.add(new JsonObject(data));
      }
    }
    return chunks;
  }

  @Test
  @DisplayName("a chat completion echoes the last user message in the OpenAI shape and is recorded")
  void nonStreaming(VertxTestContext testContext) {
    post("/chat/completions", chat("hello big world")).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals(200, response.statusCode());
      assertEquals("application/json", response.getHeader("content-type"));
      JsonObject completion = response.bodyAsJsonObject();
      assertTrue(completion.getString("id").startsWith("chatcmpl-fake-"));
      assertEquals("chat.completion", completion.getString("object"));
      assertTrue(completion.getLong("created") > 1_700_000_000L);
      assertEquals("fake-model", completion.getString("model"));
      JsonObject choice = completion.getJsonArray("choices").getJsonObject(0);
      assertEquals(0, choice.getInteger("index"));
      assertEquals("assistant", choice.getJsonObject("message").getString("role"));
      assertEquals("echo: hello big world", choice.getJsonObject("message").getString("content"));
      assertEquals("stop", choice.getString("finish_reason"));
      assertTrue(choice.containsKey("logprobs"));
      assertNull(choice.getValue("logprobs"));
      // one token per word: 2 + 3 + 3 + 3 prompt words, "echo: hello big world" is 4
      JsonObject usage = completion.getJsonObject("usage");
      assertEquals(11, usage.getInteger("prompt_tokens"));
      assertEquals(4, usage.getInteger("completion_tokens"));
      assertEquals(15, usage.getInteger("total_tokens"));

      assertEquals(1, fake.chatRequests().size());
      assertEquals(chat("hello big world"), fake.chatRequests().get(0));
      assertEquals("Bearer sk-test", fake.chatHeaders().get(0).get("authorization"));
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("content given as an array of text parts is joined")
  void contentParts(VertxTestContext testContext) {
    JsonArray parts = new JsonArray()
      .add(new JsonObject().put("type", "text").put("text", "look "))
      .add(new JsonObject().put("type", "image_url").put("image_url", new JsonObject().put("url", "http://x/y.png")))
      .add(new JsonObject().put("type", "text").put("text", "at this"));
    JsonObject body = new JsonObject().put("model", "m")
      .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", parts)));
    post("/chat/completions", body).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      JsonObject message = response.bodyAsJsonObject().getJsonArray("choices").getJsonObject(0).getJsonObject("message");
      assertEquals("echo: look at this", message.getString("content"));
      assertEquals("m", response.bodyAsJsonObject().getString("model"));
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("a streamed completion sends role, content pieces and finish chunks, then [DONE], without usage")
  void streamingWithoutUsage(VertxTestContext testContext) {
    post("/chat/completions", chat("hi").put("stream", true)).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals(200, response.statusCode());
      assertEquals("text/event-stream", response.getHeader("content-type"));
      String body = response.bodyAsString();
      assertTrue(body.endsWith("\n\ndata: [DONE]\n\n"), body);

      List<JsonObject> chunks = sseChunks(body);
      JsonObject first = chunks.get(0);
      assertEquals("chat.completion.chunk", first.getString("object"));
      assertEquals("fake-model", first.getString("model"));
      assertEquals(new JsonObject().put("role", "assistant").put("content", ""),
        first.getJsonArray("choices").getJsonObject(0).getJsonObject("delta"));

      StringBuilder text = new StringBuilder();
      List<JsonObject> contentChunks = chunks.subList(1, chunks.size() - 1);
      for (JsonObject chunk : contentChunks) {
        assertEquals(first.getString("id"), chunk.getString("id"));
        JsonObject choice = chunk.getJsonArray("choices").getJsonObject(0);
        assertEquals(0, choice.getInteger("index"));
        assertTrue(choice.containsKey("finish_reason"));
        assertNull(choice.getValue("finish_reason"));
        text.append(choice.getJsonObject("delta").getString("content"));
      }
      assertTrue(contentChunks.size() >= 3, "at least three content chunks, got " + contentChunks.size());
      assertEquals("echo: hi", text.toString());

      JsonObject last = chunks.get(chunks.size() - 1).getJsonArray("choices").getJsonObject(0);
      assertEquals("stop", last.getString("finish_reason"));
      assertEquals(new JsonObject(), last.getJsonObject("delta"));
      assertTrue(chunks.stream().noneMatch(chunk -> chunk.containsKey("usage")), "no usage chunk unless asked");
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("a streamed completion ends with a usage chunk when stream_options.include_usage is true")
  void streamingWithUsage(VertxTestContext testContext) {
    JsonObject body = chat("one two three four").put("stream", true)
      .put("stream_options", new JsonObject().put("include_usage", true));
    post("/chat/completions", body).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      String text = response.bodyAsString();
      assertTrue(text.endsWith("data: [DONE]\n\n"), text);
      List<JsonObject> chunks = sseChunks(text);
      JsonObject usageChunk = chunks.get(chunks.size() - 1);
      assertEquals(new JsonArray(), usageChunk.getJsonArray("choices"));
      assertEquals("chat.completion.chunk", usageChunk.getString("object"));
      assertEquals(5, usageChunk.getJsonObject("usage").getInteger("completion_tokens"));
      assertEquals(12, usageChunk.getJsonObject("usage").getInteger("prompt_tokens"));
      assertEquals("stop", chunks.get(chunks.size() - 2).getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
      assertEquals(1, chunks.stream().filter(chunk -> chunk.containsKey("usage")).count());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("respondWith makes chat requests get the given status and body until reset")
  void respondWith(VertxTestContext testContext) {
    String rateLimited = "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":null}}";
    fake.respondWith(429, rateLimited);
    post("/chat/completions", chat("hi").put("stream", true))
      .compose(response -> {
        testContext.verify(() -> {
          assertEquals(429, response.statusCode());
          assertEquals("application/json", response.getHeader("content-type"));
          assertEquals(new JsonObject(rateLimited), response.bodyAsJsonObject());
          assertEquals(1, fake.chatRequests().size());
          fake.reset();
          assertEquals(0, fake.chatRequests().size());
        });
        return post("/chat/completions", chat("hi"));
      })
      .onComplete(testContext.succeeding(response -> testContext.verify(() -> {
        assertEquals(200, response.statusCode());
        assertEquals(1, fake.chatRequests().size());
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("a delay holds the answer back at least that long")
  void delay(VertxTestContext testContext) {
    fake.delay(Duration.ofMillis(300));
    long startedAt = System.nanoTime();
    post("/chat/completions", chat("slow")).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      long elapsedMillis = Duration.ofNanos(System.nanoTime() - startedAt).toMillis();
      assertEquals(200, response.statusCode());
      assertTrue(elapsedMillis >= 300, "answered after " + elapsedMillis + " ms");
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("embeddings are deterministic unit vectors of the requested dimension, 8 by default")
  void embeddings(VertxTestContext testContext) {
    JsonObject sized = new JsonObject().put("model", "fake-embed").put("input", new JsonArray().add("alpha").add("beta gamma"))
      .put("dimensions", 32);
    JsonObject defaultSize = new JsonObject().put("model", "fake-embed").put("input", "alpha");
    post("/embeddings", sized).compose(first -> post("/embeddings", defaultSize).map(second -> List.of(first, second)))
      .onComplete(testContext.succeeding(responses -> testContext.verify(() -> {
        JsonObject list = responses.get(0).bodyAsJsonObject();
        assertEquals("list", list.getString("object"));
        assertEquals("fake-embed", list.getString("model"));
        assertEquals(3, list.getJsonObject("usage").getInteger("prompt_tokens"));
        assertEquals(3, list.getJsonObject("usage").getInteger("total_tokens"));
        JsonArray data = list.getJsonArray("data");
        assertEquals(2, data.size());
        for (int i = 0; i < 2; i++) {
          JsonObject item = data.getJsonObject(i);
          assertEquals("embedding", item.getString("object"));
          assertEquals(i, item.getInteger("index"));
          assertEquals(32, item.getJsonArray("embedding").size());
          assertEquals(1.0, norm(item.getJsonArray("embedding")), 1e-5);
        }
        assertNotEquals(data.getJsonObject(0).getJsonArray("embedding"), data.getJsonObject(1).getJsonArray("embedding"));

        JsonArray alpha = responses.get(1).bodyAsJsonObject().getJsonArray("data").getJsonObject(0).getJsonArray("embedding");
        assertEquals(8, alpha.size());
        assertEquals(1.0, norm(alpha), 1e-5);
        testContext.completeNow();
      })));
  }

  private static double norm(JsonArray vector) {
    double squares = 0;
    for (int i = 0; i < vector.size(); i++) {
      squares += vector.getDouble(i) * vector.getDouble(i);
    }
    return Math.sqrt(squares);
  }

  @Test
  @DisplayName("the model list has fake-model and fake-model-2")
  void models(VertxTestContext testContext) {
    client.getAbs(fake.baseUrl() + "/models").send().onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      JsonObject list = response.bodyAsJsonObject();
      assertEquals("list", list.getString("object"));
      assertEquals("fake-model", list.getJsonArray("data").getJsonObject(0).getString("id"));
      assertEquals("fake-model-2", list.getJsonArray("data").getJsonObject(1).getString("id"));
      assertEquals("fake", list.getJsonArray("data").getJsonObject(0).getString("owned_by"));
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("bad bodies get 400 and unknown URLs 404, as OpenAI-shaped errors")
  void errors(VertxTestContext testContext) {
    client.postAbs(fake.baseUrl() + "/chat/completions").sendBuffer(Buffer.buffer("{not json"))
      .compose(invalidJson -> post("/chat/completions", new JsonObject().put("messages", new JsonArray()))
        .compose(noModel -> client.getAbs(fake.baseUrl() + "/nowhere").send()
          .map(unknown -> List.of(invalidJson, noModel, unknown))))
      .onComplete(testContext.succeeding(responses -> testContext.verify(() -> {
        assertEquals(List.of(400, 400, 404), responses.stream().map(HttpResponse::statusCode).toList());
        for (HttpResponse<Buffer> response : responses) {
          JsonObject error = response.bodyAsJsonObject().getJsonObject("error");
          assertTrue(error.getString("message").length() > 0);
          assertEquals("invalid_request_error", error.getString("type"));
          assertTrue(error.containsKey("param") && error.containsKey("code"));
        }
        assertEquals(0, fake.chatRequests().size());
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("the official OpenAI Java SDK parses and validates completions and chunks")
  void openAiJavaSdk(VertxTestContext testContext) {
    OpenAIClient openAi = OpenAIOkHttpClient.builder()
      .baseUrl(fake.baseUrl())
      .apiKey("sk-test")
      .maxRetries(0)
      .build();
    try {
      ChatCompletionCreateParams params = ChatCompletionCreateParams.builder()
        .model("fake-model")
        .addUserMessage("from the sdk")
        .build();
      ChatCompletion completion = openAi.chat().completions().create(params).validate();

      StringBuilder streamed = new StringBuilder();
      List<ChatCompletionChunk> chunks = new ArrayList<>();
      ChatCompletionCreateParams streamParams = params.toBuilder()
        .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build())
        .build();
      try (StreamResponse<ChatCompletionChunk> stream = openAi.chat().completions().createStreaming(streamParams)) {
        stream.stream().forEach(chunk -> {
          chunks.add(chunk.validate());
          chunk.choices().forEach(choice -> choice.delta().content().ifPresent(streamed::append));
        });
      }

      testContext.verify(() -> {
        assertEquals("echo: from the sdk", completion.choices().get(0).message().content().orElseThrow());
        assertEquals(7, completion.usage().orElseThrow().totalTokens());
        assertEquals("echo: from the sdk", streamed.toString());
        assertEquals(7, chunks.get(chunks.size() - 1).usage().orElseThrow().totalTokens());
      });
      testContext.completeNow();
    } finally {
      openAi.close();
    }
  }
}
