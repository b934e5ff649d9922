package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.LogCapture;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** A webhook's id follows its event through the rule that fires into the task it makes, and that task's run. */
@ExtendWith(VertxExtension.class)
@DisplayName("Request ids through the rules")
class RequestIdRulesTest {

  static final String HOOK_SECRET = "ci-hook-secret-for-ids";

  TestGateway gateway;
  WebClient web;
  LogCapture logs;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("CI_HOOK_SECRET", HOOK_SECRET)
        .file("channels.yaml", "webhooks:\n  - name: \"ci\"\n    secret: \"${CI_HOOK_SECRET}\"\n")
        .file("rules.yaml", """
            rules:
              - name: "ci-task"
                on: { webhook: "ci" }
                do:
                  - task: { input: "build {{event.body.status}}", model: "fake-model" }
            """)
        .start();
    logs = LogCapture.json();
  }

  @AfterEach
  void stop() {
    logs.close();
    gateway.close();
  }

  @Test
  @DisplayName("hook → event → rule → task: the task shows the hook's request id, and its run and model call log it")
  void hookToTask() throws Exception {
    String body = "{\"status\":\"failed\"}";
    String ts = String.valueOf(System.currentTimeMillis() / 1000);
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(HOOK_SECRET.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String signature = "sha256=" + HexFormat.of().formatHex(mac.doFinal((ts + "." + body).getBytes(StandardCharsets.UTF_8)));
    HttpResponse<Buffer> hook = web.postAbs(gateway.url("/webhooks/hooks/ci")).putHeader("content-type", "application/json")
        .putHeader("x-switchboard-timestamp", ts).putHeader("x-switchboard-signature", signature)
        .putHeader("x-request-id", "hook-follow-1").sendBuffer(Buffer.buffer(body)).await(10, TimeUnit.SECONDS);
    assertTrue(hook.statusCode() < 300, hook.bodyAsString());
    assertEquals("hook-follow-1", hook.getHeader("x-request-id"));

    String token = gateway.token("admin-user");
    JsonObject task = null;
    long deadline = System.currentTimeMillis() + 20_000;
    while (System.currentTimeMillis() < deadline) {
      JsonArray tasks = web.getAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).send()
          .await(10, TimeUnit.SECONDS).bodyAsJsonObject().getJsonArray("data");
      task = tasks.isEmpty() ? null : tasks.getJsonObject(0);
      if (task != null && "succeeded".equals(task.getString("status"))) {
        break;
      }
      Thread.sleep(50);
    }
    assertTrue(task != null && "succeeded".equals(task.getString("status")), String.valueOf(task));
    assertEquals("ci-task", task.getString("rule"));
    assertEquals("hook-follow-1", task.getString("request_id"), task.encode());
    String id = task.getString("id");
    assertTrue(logs.events("task_run").stream().anyMatch(l -> "hook-follow-1".equals(l.getString("request_id"))
        && id.equals(l.getString("task_id"))), logs.all());
    assertTrue(logs.events("model_call").stream().anyMatch(l -> "hook-follow-1".equals(l.getString("request_id"))), logs.all());
  }
}
