package dev.switchboard.memory;

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
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code POST /v1/embeddings} as OpenAI clients use it: both encodings, the model named in the
 * request, and every kind of bad request answered 400 with the field named. One gateway with the
 * local model, one whose embeddings come from a provider.
 */
@DisplayName("POST /v1/embeddings")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EmbeddingsApiTest {

  static final String LOCAL = "bge-small-zh-v1.5";
  static final String REMOTE_MODELS = """
      providers:
        - { name: default, type: api_gateway, endpoint: "${MODEL_ENDPOINT}", auth: { type: api_key, key: "${MODEL_API_KEY}" }, models: ["*"] }
      default_model: gpt-test
      embeddings: { provider: default, model: fake-embed }
      """;

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway local;
  TestGateway remote;
  WebClient web;
  String token;

  @BeforeAll
  void start() throws Exception {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    local = TestGateway.builder().upstream(upstream.baseUrl()).start();
    remote = TestGateway.builder().upstream(upstream.baseUrl()).file("model_provider.yaml", REMOTE_MODELS).start();
    token = local.token("alice"); // both gateways share the test secret
  }

  @AfterAll
  void stop() {
    if (local != null) {
      local.close();
    }
    if (remote != null) {
      remote.close();
    }
    vertx.close().await();
  }

  @Test
  @DisplayName("base64 is the float answer as little-endian float32, as OpenAI's SDKs decode it")
  void base64IsLittleEndianFloat32OfTheFloatAnswer() {
    JsonObject floats = ok(local, embeddings(LOCAL, "项目周会在每周二下午三点").put("encoding_format", "float"));
    JsonObject encoded = ok(local, embeddings(LOCAL, "项目周会在每周二下午三点").put("encoding_format", "base64"));
    JsonArray values = floats.getJsonArray("data").getJsonObject(0).getJsonArray("embedding");
    float[] decoded = decode(encoded.getJsonArray("data").getJsonObject(0).getString("embedding"));
    assertEquals(512, values.size());
    assertEquals(512, decoded.length);
    for (int i = 0; i < decoded.length; i++) {
      assertEquals(values.getNumber(i).floatValue(), decoded[i], "dimension " + i);
    }
  }

  @Test
  @DisplayName("without encoding_format the vectors are JSON numbers")
  void floatIsTheDefault() {
    JsonObject answer = ok(local, embeddings(LOCAL, "你好"));
    assertEquals(512, answer.getJsonArray("data").getJsonObject(0).getJsonArray("embedding").size());
    assertEquals("list", answer.getString("object"));
    assertEquals(LOCAL, answer.getString("model"));
  }

  @Test
  @DisplayName("the local model answers to its published name and its Hugging Face id, in order for every input")
  void theLocalModelAnswersToItsNames() {
    JsonObject one = ok(local, embeddings(LOCAL, new JsonArray().add("你好").add("hello")));
    JsonObject two = ok(local, embeddings("BAAI/bge-small-zh-v1.5", new JsonArray().add("你好").add("hello")));
    assertEquals(2, one.getJsonArray("data").size());
    assertEquals(1, one.getJsonArray("data").getJsonObject(1).getInteger("index"));
    assertEquals(one.getJsonArray("data"), two.getJsonArray("data"));
  }

  @Test
  @DisplayName("a model the local provider does not serve is refused with 400 naming the one it serves")
  void anotherModelIsRefusedByTheLocalProvider() {
    assertError(post(local, embeddings("text-embedding-3-small", "hello")), "model_not_found", "bge-small-zh-v1.5");
    assertError(post(local, new JsonObject().put("input", "hello")), "missing_model", "bge-small-zh-v1.5");
  }

  @Test
  @DisplayName("with a provider, its configured model is served and anything else refused with 400 naming it")
  void theProvidersModelIsServed() {
    JsonObject answer = ok(remote, embeddings("fake-embed", "hello").put("encoding_format", "base64"));
    assertEquals("fake-embed", answer.getString("model"));
    assertTrue(decode(answer.getJsonArray("data").getJsonObject(0).getString("embedding")).length > 0);
    assertError(post(remote, embeddings(LOCAL, "hello")), "model_not_found", "fake-embed");
  }

  @Test
  @DisplayName("dimensions equal to the model's size are accepted; any other size is refused, not cut")
  void dimensionsMustBeTheModelsOwn() {
    assertEquals(512, ok(local, embeddings(LOCAL, "你好").put("dimensions", 512))
        .getJsonArray("data").getJsonObject(0).getJsonArray("embedding").size());
    assertError(post(local, embeddings(LOCAL, "你好").put("dimensions", 256)), "invalid_dimensions", "512");
    assertError(post(local, embeddings(LOCAL, "你好").put("dimensions", "256")), "invalid_dimensions", "'dimensions'");
  }

  static Stream<Arguments> badRequests() {
    JsonArray tooMany = new JsonArray();
    for (int i = 0; i <= 2048; i++) {
      tooMany.add("text " + i);
    }
    return Stream.of(
        Arguments.of("input missing", new JsonObject().put("model", LOCAL), "'input'"),
        Arguments.of("input null", embeddings(LOCAL, null), "'input'"),
        Arguments.of("input a number", embeddings(LOCAL, 42), "'input'"),
        Arguments.of("input an object", embeddings(LOCAL, new JsonObject().put("text", "hi")), "'input'"),
        Arguments.of("input a boolean", embeddings(LOCAL, true), "'input'"),
        Arguments.of("input an empty string", embeddings(LOCAL, ""), "'input'"),
        Arguments.of("input only white space", embeddings(LOCAL, "  \t\n"), "'input'"),
        Arguments.of("input only a zero-width space", embeddings(LOCAL, "\u200b"), "'input'"),
        Arguments.of("input an empty array", embeddings(LOCAL, new JsonArray()), "'input'"),
        Arguments.of("input with a number", embeddings(LOCAL, new JsonArray().add("ok").add(7)), "'input[1]'"),
        Arguments.of("input with null", embeddings(LOCAL, new JsonArray().add("ok").addNull()), "'input[1]'"),
        Arguments.of("input with an empty string", embeddings(LOCAL, new JsonArray().add("ok").add("")), "'input[1]'"),
        Arguments.of("input with a blank string", embeddings(LOCAL, new JsonArray().add(" ").add("ok")), "'input[0]'"),
        Arguments.of("input with a BOM only", embeddings(LOCAL, new JsonArray().add("ok").add("\uFEFF")), "'input[1]'"),
        Arguments.of("input as token ids", embeddings(LOCAL, new JsonArray().add(9906).add(1917)), "token ids"),
        Arguments.of("input as arrays of token ids", embeddings(LOCAL, new JsonArray().add(new JsonArray().add(9906))), "token ids"),
        Arguments.of("too many inputs", embeddings(LOCAL, tooMany), "at most 2048"),
        Arguments.of("an over-long input", embeddings(LOCAL, "长".repeat(8001)), "at most 8000"),
        Arguments.of("model a number", embeddings(null, "hi").put("model", 3), "'model'"),
        Arguments.of("encoding_format unknown", embeddings(LOCAL, "hi").put("encoding_format", "int8"), "'encoding_format'"),
        Arguments.of("encoding_format a number", embeddings(LOCAL, "hi").put("encoding_format", 1), "'encoding_format'"),
        Arguments.of("dimensions negative", embeddings(LOCAL, "hi").put("dimensions", -1), "'dimensions'"),
        Arguments.of("user an object", embeddings(LOCAL, "hi").put("user", new JsonObject()), "'user'"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badRequests")
  @DisplayName("a client's mistake is a 400 naming the parameter")
  void badRequestsAre400NamingTheParameter(String what, JsonObject body, String names) {
    HttpResponse<Buffer> r = post(local, body);
    assertEquals(400, r.statusCode(), what + ": " + r.bodyAsString());
    String message = r.bodyAsJsonObject().getJsonObject("error").getString("message");
    assertTrue(message.contains(names), what + ": " + message);
  }

  // ---------------------------------------------------------------------------------------------

  static JsonObject embeddings(String model, Object input) {
    JsonObject body = new JsonObject();
    if (model != null) {
      body.put("model", model);
    }
    return body.put("input", input);
  }

  static float[] decode(String base64) {
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(base64)).order(ByteOrder.LITTLE_ENDIAN);
    float[] v = new float[bytes.remaining() / 4];
    bytes.asFloatBuffer().get(v);
    return v;
  }

  HttpResponse<Buffer> post(TestGateway gateway, JsonObject body) {
    return web.postAbs(gateway.url("/v1/embeddings")).bearerTokenAuthentication(token)
        .sendJsonObject(body).await();
  }

  JsonObject ok(TestGateway gateway, JsonObject body) {
    HttpResponse<Buffer> r = post(gateway, body);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  static void assertError(HttpResponse<Buffer> r, String code, String says) {
    assertEquals(400, r.statusCode(), r.bodyAsString());
    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
    assertEquals(code, error.getString("code"), error.encode());
    assertTrue(error.getString("message").contains(says), error.getString("message"));
  }
}
