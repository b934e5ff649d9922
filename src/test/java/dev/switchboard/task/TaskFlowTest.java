package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeDingTalk;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Tasks from submission to a DingTalk push, against a fake model and a fake robot on loopback. */
@ExtendWith(VertxExtension.class)
@DisplayName("Async tasks")
class TaskFlowTest {

  static final String SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";
  static final String ONE_WORKER = """
      queue:
        workers: 1
        max_attempts: 3
        retry_backoff: 50ms
        shutdown_grace: 1s
      """;

  Vertx vertx;
  FakeUpstream upstream;
  FakeDingTalk dingtalk;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    dingtalk = FakeDingTalk.start(vertx, SECRET).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  private TestGateway.Builder base() {
    return TestGateway.builder().upstream(upstream.baseUrl()).dingtalk(dingtalk.webhook(), SECRET)
        .file("switchboard.yaml", ONE_WORKER);
  }

  private void boot(TestGateway.Builder builder) {
    gateway = builder.start();
    token = gateway.token("alice");
  }

  private Future<HttpResponse<Buffer>> submit(JsonObject task) {
    return web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(task);
  }

  private static JsonObject task(String input) {
    return new JsonObject().put("input", input)
        .put("channels", new JsonArray().add(new JsonObject().put("type", "dingtalk").put("bot", "default")));
  }

  private Future<JsonObject> get(String id) {
    return web.getAbs(gateway.url("/api/v1/tasks/" + id)).bearerTokenAuthentication(token).send()
        .map(HttpResponse::bodyAsJsonObject);
  }

  /** Polls the task until its status is one of {@code statuses} (bounded: 15 s). */
  private Future<JsonObject> await(String id, Set<String> statuses) {
    Promise<JsonObject> done = Promise.promise();
    long deadline = System.currentTimeMillis() + 15_000;
    vertx.setPeriodic(25, timer -> get(id).onSuccess(t -> {
      boolean pushing = t.getJsonArray("deliveries", new JsonArray()).stream()
          .anyMatch(d -> "pending".equals(((JsonObject) d).getString("status")));
      if (statuses.contains(t.getString("status")) && !(pushing && !statuses.contains("running"))) {
        vertx.cancelTimer(timer);
        done.tryComplete(t);
      } else if (System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(timer);
        done.tryFail("task " + id + " stayed " + t.getString("status"));
      }
    }));
    return done.future();
  }

  /** The task ended, and so did every push of its result. */
  private Future<JsonObject> finished(String id) {
    return await(id, Set.of("succeeded", "failed"));
  }

  @Test
  @DisplayName("a task is accepted with 202, run through the model, and its result pushed to DingTalk signed")
  void endToEnd(VertxTestContext ctx) {
    boot(base());
    submit(task("今天的日报").put("model", "fake-model").put("priority", "high"))
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(202, r.statusCode(), r.bodyAsString());
            assertEquals("queued", r.bodyAsJsonObject().getString("status"));
            assertEquals("/api/v1/tasks/" + r.bodyAsJsonObject().getString("id"), r.getHeader("Location"));
          });
          return finished(r.bodyAsJsonObject().getString("id"));
        })
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          assertEquals("succeeded", t.getString("status"), t.encode());
          assertEquals("echo: 今天的日报", t.getString("result"));
          assertEquals(1, t.getInteger("attempts"));
          assertNotNull(t.getString("created_at"));
          JsonObject delivery = t.getJsonArray("deliveries").getJsonObject(0);
          assertEquals("delivered", delivery.getString("status"), delivery.encode());
          assertEquals("dingtalk", delivery.getString("channel"));
          assertEquals(0, delivery.getJsonObject("response").getInteger("errcode"));

          FakeDingTalk.Push push = dingtalk.pushes().get(0);
          assertEquals(dingtalk.expectedSign(Long.parseLong(push.timestamp())), push.sign());
          assertEquals(new JsonObject()
                  .put("msgtype", "text")
                  .put("text", new JsonObject().put("content", "任务执行结果:echo: 今天的日报"))
                  .put("at", new JsonObject().put("atMobiles", new JsonArray()).put("isAtAll", false)),
              push.body());
          assertEquals("fake-model", upstream.chatRequests().get(0).getString("model"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a DingTalk errcode answer is a failed delivery that keeps errcode and errmsg")
  void dingTalkErrcode(VertxTestContext ctx) {
    dingtalk.answer(310000, "keywords not in content");
    boot(base());
    submit(task("hello").put("model", "fake-model"))
        .compose(r -> finished(r.bodyAsJsonObject().getString("id")))
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          assertEquals("succeeded", t.getString("status"));
          JsonObject delivery = t.getJsonArray("deliveries").getJsonObject(0);
          assertEquals("failed", delivery.getString("status"));
          assertEquals(310000, delivery.getJsonObject("response").getInteger("errcode"));
          assertEquals("keywords not in content", delivery.getJsonObject("response").getString("errmsg"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a push signed with the wrong secret is rejected by the robot and recorded as failed")
  void wrongSecret(VertxTestContext ctx) {
    boot(TestGateway.builder().upstream(upstream.baseUrl()).dingtalk(dingtalk.webhook(), "SECwrong")
        .file("switchboard.yaml", ONE_WORKER));
    submit(task("hello").put("model", "fake-model"))
        .compose(r -> finished(r.bodyAsJsonObject().getString("id")))
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          JsonObject response = t.getJsonArray("deliveries").getJsonObject(0).getJsonObject("response");
          assertEquals("sign not match", response.getString("errmsg"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a task still running when the gateway stops is handed back and completed after the restart, with the queued one")
  void survivesRestart(VertxTestContext ctx) {
    upstream.delay(Duration.ofSeconds(30));
    boot(base());
    String[] ids = new String[2];
    submit(task("first").put("model", "fake-model"))
        .compose(r -> {
          ids[0] = r.bodyAsJsonObject().getString("id");
          return submit(task("second").put("model", "fake-model"));
        })
        .compose(r -> {
          ids[1] = r.bodyAsJsonObject().getString("id");
          return await(ids[0], Set.of("running"));
        })
        .compose(running -> get(ids[1]))
        .compose(queued -> {
          ctx.verify(() -> assertEquals("queued", queued.getString("status")));
          // stop while the first runs and the second waits; then bring it back with a fast model
          return Future.fromCompletionStage(java.util.concurrent.CompletableFuture.runAsync(() -> {
            gateway.stop();
            upstream.reset();
            gateway.restart();
          }));
        })
        .compose(v -> finished(ids[0]))
        .compose(first -> {
          ctx.verify(() -> {
            assertEquals("succeeded", first.getString("status"));
            assertEquals("echo: first", first.getString("result"));
            assertEquals(1, first.getInteger("attempts"), "a run handed back at a graceful stop does not count as an attempt");
          });
          return finished(ids[1]);
        })
        .onComplete(ctx.succeeding(second -> ctx.verify(() -> {
          assertEquals("succeeded", second.getString("status"));
          assertEquals(1, second.getInteger("attempts"));
          assertEquals(2, dingtalk.pushes().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("with one worker, a high-priority task overtakes a low-priority one queued before it")
  void priorities(VertxTestContext ctx) {
    upstream.delay(Duration.ofMillis(300));
    boot(base());
    String[] ids = new String[3];
    submit(new JsonObject().put("input", "blocker").put("model", "fake-model"))
        .compose(r -> {
          ids[0] = r.bodyAsJsonObject().getString("id");
          return await(ids[0], Set.of("running"));
        })
        .compose(v -> submit(new JsonObject().put("input", "low").put("model", "fake-model").put("priority", "low")))
        .compose(r -> {
          ids[1] = r.bodyAsJsonObject().getString("id");
          return submit(new JsonObject().put("input", "high").put("model", "fake-model").put("priority", "high"));
        })
        .compose(r -> {
          ids[2] = r.bodyAsJsonObject().getString("id");
          return finished(ids[1]);
        })
        .onComplete(ctx.succeeding(low -> ctx.verify(() -> {
          var order = upstream.chatRequests().stream()
              .map(b -> b.getJsonArray("messages").getJsonObject(0).getString("content")).toList();
          assertEquals(java.util.List.of("blocker", "high", "low"), order);
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an upstream 5xx is retried up to the queue's max_attempts, then the task fails with the error")
  void retriesThenFails(VertxTestContext ctx) {
    upstream.respondWith(503, "{\"error\":{\"message\":\"busy\",\"type\":\"server_error\"}}");
    // one upstream try per task run, so the count below is the queue's doing alone
    boot(base().file("model_provider.yaml", """
        providers:
          - name: "default"
            endpoint: "${MODEL_ENDPOINT}"
            auth: { type: "api_key", key: "${MODEL_API_KEY}" }
        retry: { max_attempts: 1 }
        """));
    submit(task("x").put("model", "fake-model"))
        .compose(r -> finished(r.bodyAsJsonObject().getString("id")))
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          assertEquals("failed", t.getString("status"));
          assertEquals(3, t.getInteger("attempts"));
          assertTrue(t.getString("error").contains("busy"), t.getString("error"));
          assertEquals(0, t.getJsonArray("deliveries").size());
          assertEquals(3, upstream.chatRequests().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an upstream 4xx fails the task at once, without retries")
  void clientErrorIsFinal(VertxTestContext ctx) {
    upstream.respondWith(400, "{\"error\":{\"message\":\"bad model\",\"type\":\"invalid_request_error\"}}");
    boot(base());
    submit(task("x").put("model", "fake-model"))
        .compose(r -> finished(r.bodyAsJsonObject().getString("id")))
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          assertEquals("failed", t.getString("status"));
          assertEquals(1, t.getInteger("attempts"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a task with a delay waits queued until the delay is over, then runs")
  void delayed(VertxTestContext ctx) {
    boot(base());
    long submitted = System.currentTimeMillis();
    String[] id = new String[1];
    submit(task("later").put("model", "fake-model").put("delay", "1s"))
        .compose(r -> {
          id[0] = r.bodyAsJsonObject().getString("id");
          Promise<Void> wait = Promise.promise();
          vertx.setTimer(400, t -> wait.complete());
          return wait.future().compose(v -> get(id[0]));
        })
        .compose(t -> {
          ctx.verify(() -> {
            assertEquals("queued", t.getString("status"), t.encode());
            assertNotNull(t.getString("run_at"));
            assertEquals(0, upstream.chatRequestCount(), "not before its time");
          });
          return finished(id[0]);
        })
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          assertEquals("succeeded", t.getString("status"));
          assertTrue(System.currentTimeMillis() - submitted >= 1000);
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the same idempotency key answers the same task")
  void idempotency(VertxTestContext ctx) {
    boot(base());
    JsonObject body = task("once").put("model", "fake-model").put("idempotency_key", "order-42");
    submit(body).compose(first -> submit(body).map(second -> new String[] {
            first.bodyAsJsonObject().getString("id"), second.bodyAsJsonObject().getString("id")}))
        .onComplete(ctx.succeeding(ids -> ctx.verify(() -> {
          assertEquals(ids[0], ids[1]);
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a task without a model is refused when no default model is configured")
  void modelRequired(VertxTestContext ctx) {
    upstream.modelsFault(FakeUpstream.Fault.MALFORMED_JSON);
    boot(TestGateway.builder().upstream(upstream.baseUrl()));
    submit(new JsonObject().put("input", "x")).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(400, r.statusCode(), r.bodyAsString());
      assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("MODEL_NAME"));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("with no provider at all, a task that names a model is refused at submission, naming what to set")
  void noProviderRefusedAtSubmission(VertxTestContext ctx) {
    boot(TestGateway.builder());
    submit(new JsonObject().put("input", "x").put("model", "deepseek-chat")).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(503, r.statusCode(), r.bodyAsString());
      assertEquals("no_provider", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
      assertTrue(r.bodyAsJsonObject().getJsonObject("error").getString("message").contains("MODEL_ENDPOINT"), r.bodyAsString());
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("with no default model, the banner and /readyz say so, and it does not count against readiness")
  void noDefaultModelIsReported(VertxTestContext ctx) {
    // an upstream whose model list cannot be read, so there is no first model to fall back on
    upstream.modelsFault(FakeUpstream.Fault.MALFORMED_JSON);
    boot(TestGateway.builder().upstream(upstream.baseUrl()));
    assertTrue(gateway.banner().contains("default model: none"), gateway.banner());
    web.getAbs(gateway.url("/readyz")).send().onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      JsonObject entry = r.bodyAsJsonObject().getJsonObject("components").getJsonObject("default_model");
      assertEquals("unset", entry.getString("status"), r.bodyAsString());
      assertTrue(entry.getString("hint").contains("MODEL_NAME"), r.bodyAsString());
      assertEquals(false, entry.getBoolean("required"));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a task without a model uses default_model")
  void defaultModel(VertxTestContext ctx) {
    boot(base().env("MODEL_NAME", "fake-model-2"));
    submit(task("x"))
        .compose(r -> finished(r.bodyAsJsonObject().getString("id")))
        .onComplete(ctx.succeeding(t -> ctx.verify(() -> {
          assertEquals("succeeded", t.getString("status"));
          assertEquals("fake-model-2", upstream.chatRequests().get(0).getString("model"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("bad submissions are 400 with a message saying what to fix, and unknown ids 404")
  void validation(VertxTestContext ctx) {
    boot(TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .env("DINGTALK_WEBHOOK", dingtalk.webhook()));
    Object[][] cases = {
        {"{\"input\": ", "not valid JSON"},
        {"{}", "'input' is required"},
        {"{\"input\": \"x\", \"priority\": \"urgent\"}", "high, normal or low"},
        {"{\"input\": \"x\", \"channels\": [{\"type\": \"telegram\"}]}", "not supported"},
        {"{\"input\": \"x\", \"channels\": [{\"type\": \"dingtalk\", \"bot\": \"default\"}]}", "DINGTALK_SECRET"},
        {"{\"input\": \"x\", \"channels\": [{\"type\": \"dingtalk\", \"bot\": \"nobody\"}]}", "no dingtalk bot named 'nobody'"},
        {"{\"input\": \"x\", \"channels\": \"dingtalk\"}", "'channels' must be an array"},
        {"{\"input\": \"x\", \"delay\": \"soon\"}", "'delay' must be seconds"},
    };
    var checks = ctx.checkpoint(cases.length + 1);
    for (Object[] c : cases) {
      web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token)
          .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer((String) c[0]))
          .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
            assertEquals(400, r.statusCode(), r.bodyAsString());
            String message = r.bodyAsJsonObject().getJsonObject("error").getString("message");
            assertTrue(message.contains((String) c[1]), message);
            checks.flag();
          })));
    }
    web.getAbs(gateway.url("/api/v1/tasks/no-such-task")).bearerTokenAuthentication(token).send()
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(404, r.statusCode());
          assertEquals("task_not_found", r.bodyAsJsonObject().getJsonObject("error").getString("code"));
          checks.flag();
        })));
  }

  @Test
  @DisplayName("metrics count HTTP requests by route, the model call, the task outcome and the push")
  void metrics(VertxTestContext ctx) {
    boot(base());
    submit(task("count me").put("model", "fake-model"))
        .compose(r -> finished(r.bodyAsJsonObject().getString("id")))
        .compose(t -> web.getAbs(gateway.url("/metrics")).send())
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          String text = r.bodyAsString();
          // the registry outlives one gateway in this JVM, so counts are at least, not exactly, one
          assertTrue(r.getHeader("content-type").startsWith("text/plain"), r.getHeader("content-type"));
          assertTrue(text.matches("(?s).*vertx_http_server_requests_total\\{[^}]*route=\"/api/v1/tasks\"[^}]*} .*"), "http by route");
          assertTrue(text.matches("(?s).*switchboard_model_requests_seconds_count\\{[^}]*outcome=\"ok\"[^}]*provider=\"default\"[^}]*} [1-9].*"), "model calls");
          assertTrue(text.contains("switchboard_model_requests_seconds_bucket"), "latency histogram");
          assertTrue(text.matches("(?s).*switchboard_tasks_total\\{outcome=\"succeeded\"} [1-9].*"), "task outcome");
          for (String priority : new String[] {"high", "normal", "low"}) {
            assertTrue(text.contains("switchboard_queue_depth{priority=\"" + priority + "\"} "), "queue depth " + priority);
            assertTrue(text.contains("switchboard_queue_scheduled{priority=\"" + priority + "\"} "), "scheduled " + priority);
            assertTrue(text.contains("switchboard_queue_oldest_age_seconds{priority=\"" + priority + "\"} "), "oldest " + priority);
          }
          assertTrue(text.contains("switchboard_queue_running "), "running here");
          assertTrue(text.matches("(?s).*switchboard_task_run_seconds_count\\{outcome=\"succeeded\",reason=\"none\"} [1-9].*"), "run time");
          assertTrue(text.matches("(?s).*switchboard_channel_pushes_total\\{bot=\"default\",channel=\"dingtalk\",status=\"delivered\"} [1-9].*"), "pushes");
          ctx.completeNow();
        })));
  }
}
