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
import io.vertx.junit5.VertxExtension;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** With a judge model, the model decides what a close memory means; without an answer, the words do. */
@ExtendWith(VertxExtension.class)
@DisplayName("Memory judge")
class MemoryJudgeTest {

  FakeUpstream upstream;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).file("switchboard.yaml", """
        memory:
          long_term:
            judge_model: judge-test
        """).start();
    token = gateway.token("alice");
    MemoryBehaviour.waitUntil(() -> web.getAbs(gateway.url("/readyz")).send().await().statusCode() == 200, "ready");
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private void judgeSays(String word) {
    upstream.respondWith(200, new JsonObject().put("id", "j").put("object", "chat.completion").put("model", "judge-test")
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "stop")
            .put("message", new JsonObject().put("role", "assistant").put("content", word)))).encode());
  }

  private JsonObject add(String content) {
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("content", content).put("scope", "user:judged")).await();
    assertEquals(201, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  @Test
  void theJudgeCanKeepTwoCloseMemoriesApart() {
    judgeSays("DIFFERENT");
    add("第1条记录：项目负责人是员工1号");
    assertEquals("created", add("第2条记录：项目负责人是员工2号").getString("status"));
    JsonObject asked = upstream.chatRequests().get(upstream.chatRequests().size() - 1);
    assertEquals("judge-test", asked.getString("model"));
    assertTrue(asked.getJsonArray("messages").getJsonObject(1).getString("content").contains("STORED: 第1条记录"));
  }

  @Test
  void theJudgeCanCallARewordingAContradiction() {
    judgeSays("CONTRADICTS");
    add("张三喜欢喝绿茶");
    assertEquals("superseded", add("张三很喜欢喝绿茶").getString("status"));
  }

  @Test
  void withoutAnAnswerFromTheJudgeTheWordsDecide() {
    upstream.respondWith(400, "{\"error\":{\"message\":\"no such model\",\"type\":\"invalid_request_error\"}}");
    add("张三喜欢喝绿茶");
    assertEquals("updated", add("张三很喜欢喝绿茶").getString("status"));
  }
}
