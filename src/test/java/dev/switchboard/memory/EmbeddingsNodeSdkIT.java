package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.NodeClient;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * The official OpenAI Node SDK (pinned in {@code src/test/node/package-lock.json}, installed by
 * {@code scripts/test.sh} with {@code npm ci}) against a gateway started here. Its default
 * {@code embeddings.create({model, input})} asks for base64 and decodes it itself, so this is the
 * call that read 128 zeros when the gateway ignored {@code encoding_format}. Missing Node or a
 * missing install fails the test rather than skipping it.
 */
@DisplayName("POST /v1/embeddings with the official OpenAI Node SDK")
class EmbeddingsNodeSdkIT {

  static final String TEXT = "项目周会在每周二下午三点";

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).start();
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await();
  }

  @Test
  @DisplayName("the SDK's default call gets the same 512 numbers as a float request, and an unserved model is a 400")
  void theSdksDefaultCallGetsTheRightVector() throws Exception {
    String token = gateway.token("node-sdk");
    JsonObject sdk = NodeClient.run("embeddings.mjs", "openai", gateway.url("/v1"), token, "bge-small-zh-v1.5", TEXT);

    HttpResponse<Buffer> r = WebClient.create(vertx).postAbs(gateway.url("/v1/embeddings")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("model", "bge-small-zh-v1.5").put("input", TEXT).put("encoding_format", "float"))
        .await();
    assertEquals(200, r.statusCode(), r.bodyAsString());
    JsonArray expected = r.bodyAsJsonObject().getJsonArray("data").getJsonObject(0).getJsonArray("embedding");

    JsonArray actual = sdk.getJsonArray("embedding");
    assertEquals(512, actual.size(), "the SDK decoded " + actual.size() + " numbers");
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.getNumber(i).floatValue(), actual.getNumber(i).floatValue(), "dimension " + i);
    }
    assertEquals("bge-small-zh-v1.5", sdk.getString("model"));

    JsonObject refused = sdk.getJsonObject("refused");
    assertEquals(400, refused.getInteger("status"), refused.encode());
    assertEquals("model_not_found", refused.getString("code"), refused.encode());
  }
}
