package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.models.Model;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import static org.junit.jupiter.api.Assertions.assertThrows;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The official OpenAI Java SDK, unchanged, pointed at the gateway: what users' code will do.
 * The SDK is blocking, so these tests drive it from the test thread.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("The official OpenAI Java SDK works against the gateway")
class OpenAiSdkCompatibilityTest {

  static Vertx vertx;
  static FakeUpstream upstream;
  static TestGateway gateway;
  static OpenAIClient client;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).start();
    client = OpenAIOkHttpClient.builder()
        .baseUrl(gateway.url("/v1"))
        .apiKey(gateway.token("sdk-user"))
        .maxRetries(0)
        .timeout(Duration.ofSeconds(20))
        .build();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static ChatCompletionCreateParams.Builder ask(String text) {
    return ChatCompletionCreateParams.builder().model("fake-model").addUserMessage(text);
  }

  @Test
  @DisplayName("a non-streaming completion comes back parsed, with the upstream's answer and usage")
  void nonStreaming() {
    ChatCompletion completion = client.chat().completions().create(ask("你好 gateway").build());
    assertEquals("echo: 你好 gateway", completion.choices().get(0).message().content().orElseThrow());
    assertTrue(completion.usage().orElseThrow().totalTokens() > 0);
  }

  @Test
  @DisplayName("the upstream receives the client's request with the provider's key, not the client's token")
  void upstreamSeesProviderKey() {
    upstream.reset();
    client.chat().completions().create(ask("who am I").temperature(0.2).build());
    assertEquals("Bearer upstream-key", upstream.chatHeaders().get(0).get("Authorization"));
    assertEquals(0.2, upstream.chatRequests().get(0).getDouble("temperature"), 1e-9);
  }

  @Test
  @DisplayName("a streaming completion yields the chunks in order and finishes")
  void streaming() {
    try (StreamResponse<ChatCompletionChunk> stream = client.chat().completions().createStreaming(
        ask("stream me please").streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
      List<ChatCompletionChunk> chunks = stream.stream().collect(Collectors.toList());
      String text = chunks.stream()
          .flatMap(c -> c.choices().stream())
          .map(c -> c.delta().content().orElse(""))
          .collect(Collectors.joining());
      assertEquals("echo: stream me please", text);
      assertTrue(chunks.size() >= 4, "expected several chunks, got " + chunks.size());
      assertTrue(chunks.get(chunks.size() - 1).usage().isPresent(), "usage chunk requested but missing");
    }
  }

  @Test
  @DisplayName("the model list comes from the upstream")
  void models() {
    List<String> ids = client.models().list().data().stream().map(Model::id).collect(Collectors.toList());
    assertTrue(ids.contains("fake-model"), ids.toString());
  }

  @Test
  @DisplayName("an upstream 404 (unknown model) reaches the SDK as NotFoundException with the upstream's message")
  void upstreamNotFound() {
    upstream.respondWith(404, "{\"error\":{\"message\":\"The model `nope` does not exist\",\"type\":\"invalid_request_error\",\"code\":\"model_not_found\"}}");
    try {
      NotFoundException e = assertThrows(NotFoundException.class,
          () -> client.chat().completions().create(ask("x").model("nope").build()));
      assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    } finally {
      upstream.reset();
    }
  }

  @Test
  @DisplayName("a client with a wrong token gets UnauthorizedException")
  void wrongToken() {
    OpenAIClient stranger = OpenAIOkHttpClient.builder().baseUrl(gateway.url("/v1")).apiKey("sk-not-a-jwt").maxRetries(0).build();
    assertThrows(UnauthorizedException.class, () -> stranger.chat().completions().create(ask("x").build()));
  }
}
