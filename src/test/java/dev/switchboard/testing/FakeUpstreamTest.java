package dev.switchboard.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import dev.switchboard.testing.FakeUpstream.Fault;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
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
  private HttpClientAgent httpClient;
  private Vertx vertx;

  @BeforeEach
  void start(Vertx vertx, VertxTestContext testContext) {
    this.vertx = vertx;
    client = WebClient.create(vertx);
    httpClient = vertx.createHttpClient();
    FakeUpstream.start(vertx).onComplete(testContext.succeeding(started -> {
      fake = started;
      testContext.completeNow();
    }));
  }

  @AfterEach
  void stop(VertxTestContext testContext) {
    client.close();
    httpClient.close();
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

  // -------------------------------------------------------------------------------------------
  // Misbehaviour on demand

  private static final String RATE_LIMITED =
    "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\",\"param\":null,\"code\":null}}";

  /** The status of each response in turn, or -1 where the request failed. */
  private Future<List<Integer>> statuses(int requests, JsonObject body) {
    Future<List<Integer>> all = Future.succeededFuture(List.of());
    for (int i = 0; i < requests; i++) {
      all = all.compose(earlier -> post("/chat/completions", body)
        .map(HttpResponse::statusCode)
        .otherwise(-1)
        .map(status -> {
          List<Integer> statuses = new ArrayList<>(earlier);
          statuses.add(status);
          return statuses;
        }));
    }
    return all;
  }

  /** What a raw HTTP client saw of one chat request: the response head, the data, how it ended. */
  private record Seen(int status, String contentType, String data, Throwable failure) {}

  /**
   * Posts {@code body} with a plain HTTP client that gives up after {@code idleTimeoutMillis} without
   * data; the future holds the data received until the end or the failure, or fails itself when
   * not even the headers came.
   */
  private Future<Seen> raw(JsonObject body, long idleTimeoutMillis) {
    RequestOptions options = new RequestOptions()
      .setMethod(HttpMethod.POST)
      .setAbsoluteURI(fake.baseUrl() + "/chat/completions")
      .putHeader("content-type", "application/json")
      .putHeader("authorization", "Bearer sk-test")
      .setIdleTimeout(idleTimeoutMillis);
    return httpClient.request(options)
      .compose(request -> request.send(body.toBuffer()))
      .compose(response -> {
        Promise<Seen> seen = Promise.promise();
        Buffer data = Buffer.buffer();
        response.handler(data::appendBuffer);
        response.exceptionHandler(e -> seen.tryComplete(seenOf(response, data, e)));
        response.endHandler(v -> seen.tryComplete(seenOf(response, data, null)));
        // a close that lands before these handlers are set is not reported to them: bound the wait,
        // and count it as what it is, a response that did not end cleanly
        long timer = vertx.setTimer(idleTimeoutMillis + 1_000, id -> seen.tryComplete(
            seenOf(response, data, new java.util.concurrent.TimeoutException("the response neither ended nor failed"))));
        return seen.future().andThen(ar -> vertx.cancelTimer(timer));
      });
  }

  private static Seen seenOf(HttpClientResponse response, Buffer data, Throwable failure) {
    return new Seen(response.statusCode(), response.getHeader("content-type"), data.toString(), failure);
  }

  @Test
  @DisplayName("respondWith with headers sends them along with the status and body")
  void respondWithHeaders(VertxTestContext testContext) {
    fake.respondWith(429, RATE_LIMITED, Map.of("Retry-After", "2", "x-ratelimit-remaining-requests", "0"));
    post("/chat/completions", chat("hi")).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals(429, response.statusCode());
      assertEquals("2", response.getHeader("retry-after"));
      assertEquals("0", response.getHeader("x-ratelimit-remaining-requests"));
      assertEquals("application/json", response.getHeader("content-type"));
      assertEquals(new JsonObject(RATE_LIMITED), response.bodyAsJsonObject());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("failTimes limits a canned response to the next n chat requests, which are recorded too")
  void failTimesCanned(VertxTestContext testContext) {
    fake.failTimes(2).respondWith(500, "{\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}");
    statuses(4, chat("hi")).onComplete(testContext.succeeding(statuses -> testContext.verify(() -> {
      assertEquals(List.of(500, 500, 200, 200), statuses);
      assertEquals(4, fake.chatRequestCount());
      assertEquals(4, fake.chatRequests().size());
      assertEquals(4, fake.chatHeaders().size());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("failTimes limits a fault to the next n chat requests, then normal answers resume")
  void failTimesFault(VertxTestContext testContext) {
    fake.fault(Fault.RESET_CONNECTION).failTimes(1);
    statuses(3, chat("hi")).onComplete(testContext.succeeding(statuses -> testContext.verify(() -> {
      assertEquals(List.of(-1, 200, 200), statuses);
      assertEquals(3, fake.chatRequestCount());
      assertEquals(3, fake.chatRequests().size());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("fault(NONE) ends a fault")
  void faultNone(VertxTestContext testContext) {
    fake.fault(Fault.MALFORMED_JSON).fault(Fault.NONE);
    post("/chat/completions", chat("hi")).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals("echo: hi", response.bodyAsJsonObject().getJsonArray("choices").getJsonObject(0)
        .getJsonObject("message").getString("content"));
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("a fault wins over a canned response")
  void faultBeatsCanned(VertxTestContext testContext) {
    fake.respondWith(429, RATE_LIMITED).fault(Fault.MALFORMED_JSON);
    post("/chat/completions", chat("hi")).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals(200, response.statusCode());
      assertEquals(FakeUpstream.MALFORMED_BODY, response.bodyAsString());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("STALL_BEFORE_FIRST_TOKEN sends no headers at all until the client gives up")
  void stallNonStreaming(VertxTestContext testContext) {
    fake.fault(Fault.STALL_BEFORE_FIRST_TOKEN);
    long startedAt = System.nanoTime();
    raw(chat("hi"), 400).onComplete(testContext.failing(e -> testContext.verify(() -> {
      long elapsedMillis = Duration.ofNanos(System.nanoTime() - startedAt).toMillis();
      assertTrue(elapsedMillis >= 400, "gave up after " + elapsedMillis + " ms");
      assertTrue(e.getMessage().toLowerCase().contains("timeout"), e.toString());
      assertEquals(1, fake.chatRequestCount());
      assertEquals(1, fake.chatRequests().size());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("STALL_BEFORE_FIRST_TOKEN stalls stream requests too, before any header")
  void stallStreaming(VertxTestContext testContext) {
    fake.fault(Fault.STALL_BEFORE_FIRST_TOKEN);
    raw(chat("hi").put("stream", true), 400).onComplete(testContext.failing(e -> testContext.verify(() -> {
      assertTrue(e.getMessage().toLowerCase().contains("timeout"), e.toString());
      assertEquals(1, fake.chatRequestCount());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("BREAK_AFTER_FIRST_TOKEN streams 200, the role and first content chunk, then drops the connection")
  void breakAfterFirstTokenStreaming(VertxTestContext testContext) {
    fake.fault(Fault.BREAK_AFTER_FIRST_TOKEN);
    raw(chat("one two three").put("stream", true), 5_000).onComplete(testContext.succeeding(seen -> testContext.verify(() -> {
      assertEquals(200, seen.status());
      assertEquals("text/event-stream", seen.contentType());
      assertTrue(seen.failure() != null, "the response ends with a failure, not a clean end: " + seen);
      assertFalse(seen.data().contains("[DONE]"), seen.data());
      List<JsonObject> chunks = sseChunks(seen.data());
      assertEquals(2, chunks.size(), seen.data());
      assertEquals("assistant", chunks.get(0).getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("role"));
      assertEquals("echo:", chunks.get(1).getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("content"));
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("BREAK_AFTER_FIRST_TOKEN closes the connection of a non-stream request without an answer")
  void breakAfterFirstTokenNonStreaming(VertxTestContext testContext) {
    fake.fault(Fault.BREAK_AFTER_FIRST_TOKEN);
    raw(chat("hi"), 5_000).onComplete(testContext.failing(e -> testContext.verify(() -> {
      assertFalse(e.getMessage().toLowerCase().contains("timeout"), "closed, not timed out: " + e);
      assertEquals(1, fake.chatRequestCount());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("RESET_CONNECTION closes the connection at once, without a response, and still records the request")
  void resetConnection(VertxTestContext testContext) {
    fake.fault(Fault.RESET_CONNECTION).delay(Duration.ofSeconds(10));
    long startedAt = System.nanoTime();
    raw(chat("hi").put("stream", true), 5_000).onComplete(testContext.failing(e -> testContext.verify(() -> {
      long elapsedMillis = Duration.ofNanos(System.nanoTime() - startedAt).toMillis();
      assertTrue(elapsedMillis < 2_000, "closed after " + elapsedMillis + " ms, without waiting the delay");
      assertFalse(e.getMessage().toLowerCase().contains("timeout"), "closed, not timed out: " + e);
      assertEquals(1, fake.chatRequestCount());
      assertEquals(List.of(chat("hi").put("stream", true)), fake.chatRequests());
      assertEquals(List.of("sk-test"), fake.chatKeys());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("MALFORMED_JSON answers 200 application/json with a body that is not JSON")
  void malformedJson(VertxTestContext testContext) {
    fake.fault(Fault.MALFORMED_JSON);
    post("/chat/completions", chat("hi")).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals(200, response.statusCode());
      assertEquals("application/json", response.getHeader("content-type"));
      assertEquals("{\"id\": \"chatcmpl-x\", \"choices\": [", response.bodyAsString());
      assertThrows(DecodeException.class, response::bodyAsJsonObject);
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("MALFORMED_JSON streams an event whose data is not JSON, then [DONE]")
  void malformedJsonStreaming(VertxTestContext testContext) {
    fake.fault(Fault.MALFORMED_JSON);
    post("/chat/completions", chat("hi").put("stream", true)).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals(200, response.statusCode());
      assertEquals("text/event-stream", response.getHeader("content-type"));
      assertEquals("data: {not json\n\ndata: [DONE]\n\n", response.bodyAsString());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("rejectKey answers 401 invalid_api_key to that key on every endpoint and serves other keys")
  void rejectKey(VertxTestContext testContext) {
    fake.rejectKey("sk-test");
    Future<HttpResponse<Buffer>> chatRejected = post("/chat/completions", chat("hi"));
    Future<HttpResponse<Buffer>> modelsRejected = chatRejected.compose(r ->
      client.getAbs(fake.baseUrl() + "/models").bearerTokenAuthentication("sk-test").send());
    Future<HttpResponse<Buffer>> embeddingsRejected = modelsRejected.compose(r -> post("/embeddings",
      new JsonObject().put("model", "fake-embed").put("input", "alpha")));
    Future<HttpResponse<Buffer>> otherKey = embeddingsRejected.compose(r ->
      client.postAbs(fake.baseUrl() + "/chat/completions").bearerTokenAuthentication("sk-good").sendJsonObject(chat("hi")));
    otherKey.onComplete(testContext.succeeding(good -> testContext.verify(() -> {
      JsonObject expected = new JsonObject().put("error", new JsonObject()
        .put("message", "Incorrect API key provided")
        .put("type", "invalid_request_error")
        .put("code", "invalid_api_key"));
      for (HttpResponse<Buffer> rejected : List.of(chatRejected.result(), modelsRejected.result(), embeddingsRejected.result())) {
        assertEquals(401, rejected.statusCode());
        assertEquals("application/json", rejected.getHeader("content-type"));
        assertEquals(expected, rejected.bodyAsJsonObject());
      }
      assertEquals(200, good.statusCode());
      assertEquals(2, fake.chatRequestCount());
      assertEquals(List.of("sk-test", "sk-good"), fake.chatKeys());
      assertEquals(2, fake.chatRequests().size());
      assertEquals(1, fake.modelsRequests());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("down answers 503 server_error on every endpoint, models included, until down(false)")
  void down(VertxTestContext testContext) {
    fake.down(true);
    Future<HttpResponse<Buffer>> chatDown = post("/chat/completions", chat("hi").put("stream", true));
    Future<HttpResponse<Buffer>> modelsDown = chatDown.compose(r -> client.getAbs(fake.baseUrl() + "/models").send());
    Future<HttpResponse<Buffer>> embeddingsDown = modelsDown.compose(r -> post("/embeddings",
      new JsonObject().put("model", "fake-embed").put("input", "alpha")));
    Future<HttpResponse<Buffer>> modelsUp = embeddingsDown.compose(r -> {
      fake.down(false);
      return client.getAbs(fake.baseUrl() + "/models").send();
    });
    modelsUp.onComplete(testContext.succeeding(up -> testContext.verify(() -> {
      JsonObject expected = new JsonObject().put("error", new JsonObject()
        .put("message", "service unavailable")
        .put("type", "server_error"));
      for (HttpResponse<Buffer> unavailable : List.of(chatDown.result(), modelsDown.result(), embeddingsDown.result())) {
        assertEquals(503, unavailable.statusCode());
        assertEquals(expected, unavailable.bodyAsJsonObject());
      }
      assertEquals(200, up.statusCode());
      assertEquals(2, fake.modelsRequests());
      assertEquals(1, fake.chatRequestCount());
      assertEquals(1, fake.chatRequests().size());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("modelsRequests counts the GET /v1/models requests")
  void modelsRequests(VertxTestContext testContext) {
    client.getAbs(fake.baseUrl() + "/models").send()
      .compose(r -> client.getAbs(fake.baseUrl() + "/models").send())
      .compose(r -> post("/chat/completions", chat("hi")))
      .onComplete(testContext.succeeding(r -> testContext.verify(() -> {
        assertEquals(2, fake.modelsRequests());
        assertEquals(1, fake.chatRequestCount());
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("chatRequestCount and chatKeys count every chat request, bad bodies and missing keys too")
  void chatKeysAndCount(VertxTestContext testContext) {
    client.postAbs(fake.baseUrl() + "/chat/completions").bearerTokenAuthentication("sk-1").sendBuffer(Buffer.buffer("{not json"))
      .compose(r -> client.postAbs(fake.baseUrl() + "/chat/completions").sendJsonObject(chat("no key")))
      .compose(r -> client.postAbs(fake.baseUrl() + "/chat/completions").bearerTokenAuthentication("sk-2").sendJsonObject(chat("hi")))
      .onComplete(testContext.succeeding(r -> testContext.verify(() -> {
        assertEquals(3, fake.chatRequestCount());
        assertEquals(Arrays.asList("sk-1", null, "sk-2"), fake.chatKeys());
        // the body that is not JSON is counted but not in chatRequests()
        assertEquals(List.of(chat("no key"), chat("hi")), fake.chatRequests());
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("reset ends faults, canned responses, rejected keys and downtime and zeroes the counters")
  void resetUndoesMisbehaviour(VertxTestContext testContext) {
    fake.fault(Fault.RESET_CONNECTION).respondWith(500, "{}").rejectKey("sk-test").down(true).failTimes(5);
    client.getAbs(fake.baseUrl() + "/models").send()
      .compose(r -> {
        fake.reset();
        testContext.verify(() -> {
          assertEquals(0, fake.modelsRequests());
          assertEquals(0, fake.chatRequestCount());
          assertEquals(List.of(), fake.chatKeys());
        });
        return statuses(2, chat("hi"));
      })
      .onComplete(testContext.succeeding(statuses -> testContext.verify(() -> {
        assertEquals(List.of(200, 200), statuses);
        assertEquals(2, fake.chatRequestCount());
        testContext.completeNow();
      })));
  }

  /** Reads a response up to {@code max} bytes, then closes the connection: what a bounded client does. */
  private Future<Seen> readAtMost(String path, HttpMethod method, JsonObject body, int max) {
    RequestOptions options = new RequestOptions().setMethod(method).setAbsoluteURI(fake.baseUrl() + path)
      .putHeader("content-type", "application/json").putHeader("authorization", "Bearer sk-test").setIdleTimeout(5_000);
    return httpClient.request(options)
      .compose(request -> body == null ? request.send() : request.send(body.toBuffer()))
      .compose(response -> {
        Promise<Seen> seen = Promise.promise();
        Buffer data = Buffer.buffer();
        response.handler(chunk -> {
          data.appendBuffer(chunk);
          if (data.length() >= max && seen.tryComplete(seenOf(response, data, null))) {
            response.request().reset();
          }
        });
        response.exceptionHandler(e -> seen.tryComplete(seenOf(response, data, e)));
        response.endHandler(v -> seen.tryComplete(seenOf(response, data, null)));
        return seen.future();
      });
  }

  /** The fake's open connections once none is left, or after a few seconds: never blocks the event loop. */
  private Future<Integer> openConnectionsSettled() {
    Promise<Integer> settled = Promise.promise();
    long[] polls = {0};
    vertx.setPeriodic(30, id -> {
      if (fake.openConnections() == 0 || ++polls[0] > 100) {
        vertx.cancelTimer(id);
        settled.tryComplete(fake.openConnections());
      }
    });
    return settled.future();
  }

  @Test
  @DisplayName("ENDLESS_BODY keeps writing a completion that never ends, until the client closes the connection")
  void endlessBody(VertxTestContext testContext) {
    fake.fault(Fault.ENDLESS_BODY);
    readAtMost("/chat/completions", HttpMethod.POST, chat("hi"), 4 * 1024 * 1024)
      .compose(seen -> {
        testContext.verify(() -> {
          assertEquals(200, seen.status());
          assertTrue(seen.data().startsWith("{\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion\""),
            seen.data().substring(0, 80));
          assertTrue(seen.data().length() >= 4 * 1024 * 1024);
        });
        return openConnectionsSettled();
      })
      .onComplete(testContext.succeeding(open -> testContext.verify(() -> {
        assertEquals(0, open, "the connection is gone once the client closes it");
        assertTrue(fake.closedConnections() >= 1);
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("ENDLESS_BODY streams bytes that never complete an event")
  void endlessStream(VertxTestContext testContext) {
    fake.fault(Fault.ENDLESS_BODY);
    readAtMost("/chat/completions", HttpMethod.POST, chat("hi").put("stream", true), 1024 * 1024)
      .onComplete(testContext.succeeding(seen -> testContext.verify(() -> {
        assertEquals("text/event-stream", seen.contentType());
        assertTrue(seen.data().startsWith("data: {"));
        assertFalse(seen.data().contains("\n"), "no event ever ends");
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("HUGE_BODY sends a well-formed completion of hugeSize bytes of content, with Content-Length")
  void hugeBody(VertxTestContext testContext) {
    fake.fault(Fault.HUGE_BODY).hugeSize(3 * 1024 * 1024);
    post("/chat/completions", chat("hi")).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      assertEquals(200, response.statusCode());
      assertTrue(Long.parseLong(response.getHeader("content-length")) > 3 * 1024 * 1024);
      String content = response.bodyAsJsonObject().getJsonArray("choices").getJsonObject(0).getJsonObject("message")
        .getString("content");
      assertEquals(3 * 1024 * 1024, content.length());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("HUGE_BODY streams one event of hugeSize bytes of content, then [DONE]")
  void hugeStream(VertxTestContext testContext) {
    fake.fault(Fault.HUGE_BODY).hugeSize(2 * 1024 * 1024);
    post("/chat/completions", chat("hi").put("stream", true)).onComplete(testContext.succeeding(response -> testContext.verify(() -> {
      List<JsonObject> chunks = sseChunks(response.bodyAsString());
      assertEquals(1, chunks.size());
      assertEquals(2 * 1024 * 1024, chunks.get(0).getJsonArray("choices").getJsonObject(0).getJsonObject("delta")
        .getString("content").length());
      assertTrue(response.bodyAsString().endsWith("data: [DONE]\n\n"));
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("STALL_AFTER_HEADERS sends 200 and the headers (a keep-alive comment for streams), then nothing")
  void stallAfterHeaders(VertxTestContext testContext) {
    fake.fault(Fault.STALL_AFTER_HEADERS);
    raw(chat("hi").put("stream", true), 400).onComplete(testContext.succeeding(seen -> testContext.verify(() -> {
      assertEquals(200, seen.status());
      assertEquals("text/event-stream", seen.contentType());
      assertEquals(": keep-alive\n\n", seen.data());
      assertTrue(seen.failure() != null, "the stream never ends: " + seen);
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("TRICKLE streams a content chunk every 100 ms, never ending")
  void trickle(VertxTestContext testContext) {
    fake.fault(Fault.TRICKLE);
    readAtMost("/chat/completions", HttpMethod.POST, chat("hi").put("stream", true), 3 * 200)
      .onComplete(testContext.succeeding(seen -> testContext.verify(() -> {
        List<JsonObject> chunks = sseChunks(seen.data().substring(0, seen.data().lastIndexOf("\n\n")));
        assertTrue(chunks.size() >= 2, seen.data());
        assertEquals("tick ", chunks.get(0).getJsonArray("choices").getJsonObject(0).getJsonObject("delta").getString("content"));
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("FLOOD streams well-formed content chunks as fast as they are read")
  void flood(VertxTestContext testContext) {
    fake.fault(Fault.FLOOD);
    readAtMost("/chat/completions", HttpMethod.POST, chat("hi").put("stream", true), 1024 * 1024)
      .onComplete(testContext.succeeding(seen -> testContext.verify(() -> {
        List<JsonObject> chunks = sseChunks(seen.data().substring(0, seen.data().lastIndexOf("\n\n")));
        assertTrue(chunks.size() > 1000, "chunks: " + chunks.size());
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("modelsFault and embeddingsFault make those endpoints misbehave; chat stays normal")
  void endpointFaults(VertxTestContext testContext) {
    fake.modelsFault(Fault.MALFORMED_JSON).embeddingsFault(Fault.HUGE_BODY).hugeSize(1024 * 1024);
    client.getAbs(fake.baseUrl() + "/models").send()
      .compose(models -> {
        testContext.verify(() -> {
          assertEquals(200, models.statusCode());
          assertThrows(DecodeException.class, models::bodyAsJsonObject);
          assertEquals(1, fake.modelsRequests());
        });
        return post("/embeddings", new JsonObject().put("model", "e").put("input", "x"));
      })
      .compose(embeddings -> {
        testContext.verify(() -> assertTrue(embeddings.body().length() > 1024 * 1024));
        return post("/chat/completions", chat("hi"));
      })
      .onComplete(testContext.succeeding(chat -> testContext.verify(() -> {
        assertEquals(200, chat.statusCode());
        fake.reset();
        testContext.completeNow();
      })));
  }

  @Test
  @DisplayName("reset ends endpoint faults as well")
  void resetEndsEndpointFaults(VertxTestContext testContext) {
    fake.modelsFault(Fault.MALFORMED_JSON).reset();
    client.getAbs(fake.baseUrl() + "/models").send().onComplete(testContext.succeeding(models -> testContext.verify(() -> {
      assertEquals(2, models.bodyAsJsonObject().getJsonArray("data").size());
      testContext.completeNow();
    })));
  }

  @Test
  @DisplayName("failTimes rejects a negative count")
  void failTimesNegative() {
    assertThrows(IllegalArgumentException.class, () -> fake.failTimes(-1));
  }
}
