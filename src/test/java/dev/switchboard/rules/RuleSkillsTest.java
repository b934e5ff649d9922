package dev.switchboard.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Skills named by a rule")
class RuleSkillsTest {

  @Test
  @DisplayName("an agent action's skills: [...] become the skills of the task it submits")
  void agentActionSkills() throws Exception {
    Vertx vertx = Vertx.vertx();
    FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    try (TestGateway gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", "webhooks:\n  - name: \"ci\"\n    secret: \"ci-secret\"\n").start()) {
      WebClient web = WebClient.create(vertx);
      String token = gateway.token("rules");
      JsonObject rule = new JsonObject().put("name", "clock").put("on", new JsonObject().put("webhook", "ci"))
          .put("do", new JsonArray().add(new JsonObject().put("agent", new JsonObject()
              .put("prompt", "what time is it in {{event.body.city}}").put("skills", new JsonArray().add("current_time")))));
      HttpResponse<Buffer> put = web.requestAbs(HttpMethod.PUT, gateway.url("/api/v1/rules")).bearerTokenAuthentication(token)
          .sendJsonObject(new JsonObject().put("rules", new JsonArray().add(rule))).await(20, TimeUnit.SECONDS);
      assertEquals(200, put.statusCode(), put.bodyAsString());
      gateway.vertx().eventBus().request(Addresses.RULES_EVENT, new JsonObject().put("id", "webhook:ci:1").put("type", "webhook")
          .put("time", "2026-01-01T00:00:00Z").put("hook", "ci").put("body", new JsonObject().put("city", "上海"))
          .put("headers", new JsonObject())).await(20, TimeUnit.SECONDS);
      JsonArray tasks = web.getAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).send()
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
      assertEquals(1, tasks.size(), tasks.encode());
      assertEquals("clock", tasks.getJsonObject(0).getString("rule"));
      assertEquals(new JsonArray().add("current_time"), tasks.getJsonObject(0).getJsonArray("skills"));
      assertEquals("what time is it in 上海", tasks.getJsonObject(0).getString("input"));
    } finally {
      vertx.close();
    }
  }
}
