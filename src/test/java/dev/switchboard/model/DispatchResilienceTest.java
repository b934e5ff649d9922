package dev.switchboard.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.FakeUpstream.Fault;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The dispatcher against two fake upstreams on loopback that misbehave on demand. Group "chat"
 * has deployment a (priority 1) and b (priority 2) unless a test says otherwise.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Model dispatch keeps answering when an upstream fails")
class DispatchResilienceTest {

  Vertx vertx;
  FakeUpstream a;
  FakeUpstream b;
  TestGateway gateway;
  WebClient web;
  String token;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    a = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    b = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  /** Providers a and b, group chat over them, and whatever else the test adds. */
  private String config(String aExtra, String bExtra, String deployments, String rest) {
    return """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", keys: ["key-a"] }
            models: ["fake-model"]
            timeouts: { connect: 1s, first_token: 1s, total: 2s }
        %s
          - name: "b"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-b" }
            models: ["fake-model"]
            timeouts: { connect: 1s, first_token: 1s, total: 2s }
        %s
        groups:
          - name: "chat"
            deployments:
        %s
        retry: { max_attempts: 3, deadline: 20s, backoff: { base: 10ms, max: 100ms } }
        %s
        """.formatted(a.baseUrl(), aExtra, b.baseUrl(), bExtra, deployments, rest);
  }

  private static final String A_THEN_B = """
            - { provider: "a", model: "fake-model", priority: 1 }
            - { provider: "b", model: "fake-model", priority: 2 }
      """;

  private void boot(String modelProviderYaml) {
    gateway = TestGateway.builder().file("model_provider.yaml", modelProviderYaml).start();
    token = gateway.token("tester");
  }

  private void bootDefault() {
    boot(config("", "", A_THEN_B, ""));
  }

  private static JsonObject chat(boolean stream) {
    return new JsonObject().put("model", "chat").put("stream", stream)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hello there")));
  }

  private Future<HttpResponse<Buffer>> post(JsonObject body) {
    return web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token).sendJsonObject(body);
  }

  private Future<JsonObject> providers() {
    return web.getAbs(gateway.url("/api/v1/providers")).bearerTokenAuthentication(token).send()
        .map(HttpResponse::bodyAsJsonObject);
  }

  private static JsonObject deployment(JsonObject providers, String provider) {
    for (Object o : providers.getJsonArray("data")) {
      JsonObject d = (JsonObject) o;
      if (provider.equals(d.getString("provider"))) {
        return d;
      }
    }
    throw new AssertionError("no deployment of " + provider + " in " + providers.encode());
  }

  /** Sends {@code n} requests one after another and collects the answers. */
  private Future<List<HttpResponse<Buffer>>> sequence(int n, Supplier<JsonObject> body) {
    List<HttpResponse<Buffer>> out = new ArrayList<>();
    Future<Void> chain = Future.succeededFuture();
    for (int i = 0; i < n; i++) {
      chain = chain.compose(v -> post(body.get()).map(r -> {
        out.add(r);
        return null;
      }));
    }
    return chain.map(v -> out);
  }

  /** Completes after {@code ms}. */
  private Future<Void> after(long ms) {
    Promise<Void> p = Promise.promise();
    vertx.setTimer(ms, id -> p.complete());
    return p.future();
  }

  private static String content(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject().getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content");
  }

  @Test
  @DisplayName("a timeout on the first deployment is answered by the next, with the provider named in a header")
  void timeoutFailsOver(VertxTestContext ctx) {
    a.delay(Duration.ofSeconds(5));
    bootDefault();
    post(chat(false)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals("b", r.getHeader("x-switchboard-provider"));
      assertEquals("echo: hello there", content(r));
      assertEquals(1, a.chatRequestCount());
      assertTrue(Double.parseDouble(r.getHeader("x-switchboard-overhead-ms")) >= 0);
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("500, connection reset and malformed JSON each move the request to the next deployment")
  void retryableFailuresFailOver(VertxTestContext ctx) {
    bootDefault();
    a.respondWith(500, "{\"error\":{\"message\":\"boom\"}}");
    post(chat(false))
        .compose(r -> {
          ctx.verify(() -> assertEquals("b", r.getHeader("x-switchboard-provider"), r.bodyAsString()));
          a.reset().fault(Fault.RESET_CONNECTION);
          return post(chat(false));
        })
        .compose(r -> {
          ctx.verify(() -> assertEquals("b", r.getHeader("x-switchboard-provider"), r.bodyAsString()));
          a.reset().fault(Fault.MALFORMED_JSON);
          return post(chat(false));
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(200, r.statusCode(), r.bodyAsString());
          assertEquals("b", r.getHeader("x-switchboard-provider"));
          assertEquals(3, b.chatRequestCount());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a 429 with Retry-After on the only deployment is waited out, then answered")
  void honoursRetryAfter(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model" }
        """, ""));
    a.respondWith(429, "{\"error\":{\"message\":\"slow down\",\"type\":\"rate_limit_error\"}}", Map.of("Retry-After", "1"))
        .failTimes(1);
    long started = System.nanoTime();
    post(chat(false)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals(2, a.chatRequestCount());
      assertTrue(System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(950), "waited for Retry-After");
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a 400 is not retried anywhere and reaches the client as it was")
  void badRequestIsFinal(VertxTestContext ctx) {
    bootDefault();
    a.respondWith(400, "{\"error\":{\"message\":\"temperature must be <= 2\",\"type\":\"invalid_request_error\",\"code\":\"invalid_value\"}}");
    post(chat(false)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(400, r.statusCode());
      assertTrue(r.bodyAsString().contains("temperature must be"));
      assertEquals(1, a.chatRequestCount());
      assertEquals(0, b.chatRequestCount());
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a context-length 400 goes to the group's context_window_fallback")
  void contextWindowFallback(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model" }
          context_window_fallback: "long"
        - name: "long"
          deployments:
            - { provider: "b", model: "fake-model" }
      """, ""));
    a.respondWith(400, "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\",\"code\":\"context_length_exceeded\"}}");
    post(chat(false)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals("b", r.getHeader("x-switchboard-provider"));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("when the group is exhausted, its fallback group answers")
  void fallbackGroup(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model" }
          fallbacks: ["backup"]
        - name: "backup"
          deployments:
            - { provider: "b", model: "fake-model" }
      """, ""));
    a.down(true);
    post(chat(false)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals("b", r.getHeader("x-switchboard-provider"));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a stream that stalls before its first token fails over without the client noticing")
  void streamStallFailsOver(VertxTestContext ctx) {
    a.fault(Fault.STALL_BEFORE_FIRST_TOKEN);
    bootDefault();
    post(chat(true)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals("b", r.getHeader("x-switchboard-provider"));
      String body = r.bodyAsString();
      assertTrue(body.endsWith("data: [DONE]\n\n"), body);
      assertFalse(body.contains("\"error\""), body);
      assertEquals("echo: hello there", streamedText(body));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a stream that breaks after its first token ends with an OpenAI error event and [DONE]")
  void streamBreakAfterFirstToken(VertxTestContext ctx) {
    a.fault(Fault.BREAK_AFTER_FIRST_TOKEN);
    bootDefault();
    post(chat(true)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode());
      assertEquals("a", r.getHeader("x-switchboard-provider"));
      String body = r.bodyAsString();
      assertTrue(body.contains("\"content\":\"echo:\""), body);
      assertTrue(body.contains("data: {\"error\":{"), body);
      assertTrue(body.endsWith("data: [DONE]\n\n"), body);
      assertEquals(0, b.chatRequestCount(), "no failover once the client has tokens");
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("the gateway asks upstreams for usage on streams, keeps the usage chunk from clients that did not ask, and accounts it")
  void streamUsage(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model" }
        """, ""));
    post(chat(true))
        .compose(r -> {
          ctx.verify(() -> {
            assertFalse(r.bodyAsString().contains("\"usage\""), r.bodyAsString());
            assertTrue(a.chatRequests().get(0).getJsonObject("stream_options").getBoolean("include_usage"));
          });
          return post(chat(true).put("stream_options", new JsonObject().put("include_usage", true)));
        })
        .compose(r -> {
          ctx.verify(() -> assertTrue(r.bodyAsString().contains("\"usage\""), r.bodyAsString()));
          return web.getAbs(gateway.url("/api/v1/usage?by=subject")).bearerTokenAuthentication(token).send();
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          JsonObject row = r.bodyAsJsonObject().getJsonArray("data").getJsonObject(0);
          assertEquals("tester", row.getString("subject"));
          assertEquals(2, row.getLong("requests"));
          assertTrue(row.getLong("completion_tokens") > 0, row.encode());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a dead key in a pool is disabled and the next key answers; the providers API shows it resting")
  void deadKey(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model" }
        """, "").replace("keys: [\"key-a\"]", "keys: [\"dead-key\", \"key-a\"]"));
    a.rejectKey("dead-key");
    sequence(4, () -> chat(false))
        .compose(rs -> {
          ctx.verify(() -> rs.forEach(r -> assertEquals(200, r.statusCode(), r.bodyAsString())));
          return providers();
        })
        .onComplete(ctx.succeeding(p -> ctx.verify(() -> {
          JsonArray keys = deployment(p, "a").getJsonArray("keys");
          assertEquals("disabled", keys.getJsonObject(0).getString("state"), keys.encode());
          assertEquals("ok", keys.getJsonObject(1).getString("state"));
          assertFalse(keys.encode().contains("dead-key"), "keys are shown by id, never by value");
          assertEquals(1, a.chatKeys().stream().filter("dead-key"::equals).count(), a.chatKeys().toString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a deployment whose probe fails is skipped, and used again once its probe succeeds")
  void probeMarksDownAndUp(VertxTestContext ctx) {
    a.down(true);
    boot(config("", "", A_THEN_B, "health_check: { interval: 200ms, timeout: 1s }"));
    after(600)
        .compose(v -> {
          a.reset();
          a.down(true);
          return post(chat(false));
        })
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals("b", r.getHeader("x-switchboard-provider"));
            assertEquals(0, a.chatRequestCount(), "a is skipped while b is healthy");
          });
          a.down(false);
          return after(600);
        })
        .compose(v -> post(chat(false)))
        .compose(r -> {
          ctx.verify(() -> assertEquals("a", r.getHeader("x-switchboard-provider")));
          return providers();
        })
        .onComplete(ctx.succeeding(p -> ctx.verify(() -> {
          JsonObject d = deployment(p, "a");
          assertEquals("up", d.getString("state"));
          assertTrue(d.getJsonObject("last_probe").getBoolean("ok"));
          assertTrue(a.modelsRequests() >= 2);
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the circuit opens on repeated failures, keeps traffic away, half-opens after the cooldown and closes on success")
  void circuitOpensAndCloses(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model", priority: 1 }
            - { provider: "b", model: "fake-model", priority: 2 }
        """, "circuit_breaker: { window: 30s, min_calls: 4, failure_rate: 0.5, cooldown: 1s }\n"
        + "health_check: { interval: 1h }"));
    a.respondWith(500, "{\"error\":{\"message\":\"down\"}}");
    sequence(6, () -> chat(false))
        .compose(rs -> {
          ctx.verify(() -> rs.forEach(r -> assertEquals(200, r.statusCode())));
          return providers();
        })
        .compose(p -> {
          ctx.verify(() -> {
            assertEquals("open", deployment(p, "a").getString("state"));
            assertEquals(4, a.chatRequestCount(), "no calls once open");
          });
          a.reset();
          return after(1100);
        })
        .compose(v -> providers())
        .compose(p -> {
          ctx.verify(() -> assertEquals("half_open", deployment(p, "a").getString("state")));
          return post(chat(false));
        })
        .compose(r -> {
          ctx.verify(() -> assertEquals("a", r.getHeader("x-switchboard-provider")));
          return providers();
        })
        .onComplete(ctx.succeeding(p -> ctx.verify(() -> {
          assertEquals("up", deployment(p, "a").getString("state"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("weights split traffic inside a priority tier (3:1 within ±8 points over 400 requests)")
  void weights(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model", priority: 1, weight: 3 }
            - { provider: "b", model: "fake-model", priority: 1, weight: 1 }
        """, ""));
    List<Future<HttpResponse<Buffer>>> all = new ArrayList<>();
    for (int i = 0; i < 400; i++) {
      all.add(post(chat(false)));
    }
    Future.all(all).onComplete(ctx.succeeding(v -> ctx.verify(() -> {
      long toA = all.stream().filter(f -> "a".equals(f.result().getHeader("x-switchboard-provider"))).count();
      double share = toA / 400.0;
      assertTrue(Math.abs(share - 0.75) <= 0.08, "share of a: " + share);
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("x-switchboard-tags restricts routing to providers with those tags")
  void tags(VertxTestContext ctx) {
    boot(config("", "    tags: [\"trusted\"]", A_THEN_B, ""));
    web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .putHeader("x-switchboard-tags", "trusted").sendJsonObject(chat(false))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(200, r.statusCode(), r.bodyAsString());
          assertEquals("b", r.getHeader("x-switchboard-provider"));
          assertEquals(0, a.chatRequestCount());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("tags no deployment carries are the client's error (400), and the answer echoes only a bounded, cleaned part of them")
  void unknownTagsAreRefusedWithABoundedEcho(VertxTestContext ctx) {
    boot(config("", "    tags: [\"trusted\"]", A_THEN_B, ""));
    String header = "nowhere<script>, " + "x".repeat(500) + ", " + String.join(",", java.util.Collections.nCopies(50, "t"));
    web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .putHeader("x-switchboard-tags", header).sendJsonObject(chat(false))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(400, r.statusCode(), r.bodyAsString());
          JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
          assertEquals("no_deployment", error.getString("code"));
          String message = error.getString("message");
          assertTrue(message.length() < 400, message);
          assertFalse(message.contains("<script>"), message);
          assertFalse(message.contains("x".repeat(100)), message);
          assertEquals(0, a.chatRequestCount() + b.chatRequestCount());
          ctx.completeNow();
        })));
  }

  /** Provider a, on and untagged; provider c tagged trusted, off (its key's variable is never set). */
  private String onlyAnOffProviderTrusted() {
    return """
        providers:
          - name: "a"
            endpoint: "%s"
            auth: { type: "api_key", key: "key-a" }
            models: ["fake-model"]
          - name: "c"
            endpoint: "%s"
            auth: { type: "api_key", key: "${SWITCHBOARD_TEST_NEVER_SET_KEY}" }
            models: ["fake-model"]
            tags: ["trusted"]
        """.formatted(a.baseUrl(), b.baseUrl());
  }

  @Test
  @DisplayName("tags carried only by a provider that is off are the operator's problem (503 naming it), not the client's")
  void tagsOfAnOffProviderAre503(VertxTestContext ctx) {
    boot(onlyAnOffProviderTrusted() + """
        groups:
          - name: "chat"
            deployments:
              - { provider: "a", model: "fake-model", priority: 1 }
              - { provider: "c", model: "fake-model", priority: 2 }
        """);
    web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .putHeader("x-switchboard-tags", "trusted").sendJsonObject(chat(false))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(503, r.statusCode(), r.bodyAsString());
          String message = r.bodyAsJsonObject().getJsonObject("error").getString("message");
          assertTrue(message.contains("c/fake-model: provider off"), message);
          assertEquals(0, a.chatRequestCount() + b.chatRequestCount());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the same for a model served directly, not through a group")
  void tagsOfAnOffProviderServingTheModelDirectlyAre503(VertxTestContext ctx) {
    boot(onlyAnOffProviderTrusted());
    web.postAbs(gateway.url("/v1/chat/completions")).bearerTokenAuthentication(token)
        .putHeader("x-switchboard-tags", "trusted").sendJsonObject(new JsonObject().put("model", "fake-model")
            .put("messages", new io.vertx.core.json.JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(503, r.statusCode(), r.bodyAsString());
          String message = r.bodyAsJsonObject().getJsonObject("error").getString("message");
          assertTrue(message.contains("c/fake-model: provider off"), message);
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a 404 from one deployment moves on to the next; probes are never billed to a client")
  void notFoundMovesOnAndProbesAreFree(VertxTestContext ctx) {
    bootDefault();
    a.respondWith(404, "{\"error\":{\"message\":\"no such model\",\"code\":\"model_not_found\"}}");
    post(chat(false))
        .compose(r -> {
          ctx.verify(() -> assertEquals("b", r.getHeader("x-switchboard-provider")));
          return web.getAbs(gateway.url("/api/v1/usage?by=provider")).bearerTokenAuthentication(token).send();
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          JsonArray rows = r.bodyAsJsonObject().getJsonArray("data");
          assertEquals(1, rows.size(), rows.encode());
          assertEquals("b", rows.getJsonObject(0).getString("provider"));
          assertEquals(1, rows.getJsonObject(0).getLong("requests"));
          assertTrue(a.modelsRequests() + b.modelsRequests() >= 2, "probes ran");
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("metrics show provider and deployment state, retries, fallbacks, time to first token and the gateway's overhead")
  void metrics(VertxTestContext ctx) {
    bootDefault();
    a.respondWith(500, "{\"error\":{\"message\":\"boom\"}}").failTimes(1);
    post(chat(false))
        .compose(r -> post(chat(true)))
        .compose(r -> web.getAbs(gateway.url("/metrics")).send())
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          String text = r.bodyAsString();
          for (String expected : new String[] {
              "switchboard_provider_up{provider=\"a\"} 1.0",
              "switchboard_deployment_state{model=\"fake-model\",provider=\"b\"} 0.0",
              "switchboard_model_retries_total{model=\"fake-model\",provider=\"b\",reason=\"retryable\"}",
              "switchboard_model_ttft_seconds_count{model=\"fake-model\",provider=\"a\"}",
              "switchboard_gateway_overhead_seconds_count{stream=\"true\"}",
              "switchboard_gateway_overhead_seconds_count{stream=\"false\"}",
              "switchboard_model_tokens_total{model=\"fake-model\",provider=\"a\",type=\"completion\"}"}) {
            assertTrue(text.contains(expected), "missing: " + expected);
          }
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("tokens and cost are counted per deployment, over several calls; a deployment without prices shows no cost")
  void tokensAndCostAccumulate(VertxTestContext ctx) {
    boot(config("    prices: { \"fake-model\": { prompt: 1000000.0, completion: 1000000.0 } }", "", """
            - { provider: "a", model: "fake-model", priority: 1, weight: 1 }
            - { provider: "b", model: "fake-model", priority: 1, weight: 1 }
        """, ""));
    List<Future<HttpResponse<Buffer>>> all = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      all.add(post(chat(false)));
    }
    Future.all(all)
        .compose(v -> web.getAbs(gateway.url("/metrics")).send())
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          String text = r.bodyAsString();
          double prompt = 0;
          double cost = 0;
          for (String line : text.split("\n")) {
            if (line.startsWith("switchboard_model_tokens_total{model=\"fake-model\",provider=\"a\",type=\"prompt\"}")) {
              prompt = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            } else if (line.startsWith("switchboard_model_cost_total{model=\"fake-model\",provider=\"a\"}")) {
              cost = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
          }
          long toA = all.stream().filter(f -> "a".equals(f.result().getHeader("x-switchboard-provider"))).count();
          assertTrue(toA >= 2, "calls to a: " + toA);
          assertTrue(prompt >= toA, "prompt tokens of a: " + prompt + " over " + toA + " calls");
          assertTrue(cost > prompt, "cost of a: " + cost + ", prompt tokens " + prompt);
          assertFalse(text.contains("switchboard_model_cost_total{model=\"fake-model\",provider=\"b\"}"), text);
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a stream whose connection is reset before any token fails over too")
  void streamResetFailsOver(VertxTestContext ctx) {
    a.fault(Fault.RESET_CONNECTION);
    bootDefault();
    post(chat(true)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals("b", r.getHeader("x-switchboard-provider"));
      assertEquals("echo: hello there", streamedText(r.bodyAsString()));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("least-latency sends most traffic to the faster deployment once it has measured both")
  void leastLatency(VertxTestContext ctx) {
    a.delay(Duration.ofMillis(150));
    boot(config("", "", """
            - { provider: "a", model: "fake-model" }
            - { provider: "b", model: "fake-model" }
          strategy: "least-latency"
      """, ""));
    sequence(12, () -> chat(false)).onComplete(ctx.succeeding(rs -> ctx.verify(() -> {
      long toB = rs.stream().filter(r -> "b".equals(r.getHeader("x-switchboard-provider"))).count();
      assertTrue(toB >= 10, "requests to the fast deployment: " + toB);
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a provider without keys that answers 429 with Retry-After is waited for, not hammered")
  void keylessRetryAfter(VertxTestContext ctx) {
    boot(config("", "", """
            - { provider: "a", model: "fake-model" }
        """, "").replace("auth: { type: \"api_key\", keys: [\"key-a\"] }", "auth: { type: \"none\" }"));
    a.respondWith(429, "{\"error\":{\"message\":\"busy\"}}", Map.of("Retry-After", "1")).failTimes(1);
    long started = System.nanoTime();
    post(chat(false)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals(2, a.chatRequestCount());
      assertTrue(System.nanoTime() - started >= TimeUnit.MILLISECONDS.toNanos(950), "waited for Retry-After");
      assertEquals(java.util.Collections.singletonList(null), a.chatKeys().subList(0, 1), "no key was sent");
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("a 200 stream that carries no events at all (a JSON body instead) fails over")
  void emptyStreamFailsOver(VertxTestContext ctx) {
    a.respondWith(200, "{\"error\":{\"message\":\"quota exceeded\"}}");
    bootDefault();
    post(chat(true)).onComplete(ctx.succeeding(r -> ctx.verify(() -> {
      assertEquals(200, r.statusCode(), r.bodyAsString());
      assertEquals("b", r.getHeader("x-switchboard-provider"));
      assertEquals("echo: hello there", streamedText(r.bodyAsString()));
      ctx.completeNow();
    })));
  }

  @Test
  @DisplayName("/readyz turns 503 while a required provider fails its probe, and 200 again when it answers")
  void readinessFollowsRequiredProvider(VertxTestContext ctx) {
    a.down(true);
    boot(config("    required: true", "", A_THEN_B, "health_check: { interval: 200ms, timeout: 1s }"));
    after(500)
        .compose(v -> web.getAbs(gateway.url("/readyz")).send())
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(503, r.statusCode(), r.bodyAsString());
            JsonObject components = r.bodyAsJsonObject().getJsonObject("components");
            assertEquals("down", components.getJsonObject("provider:a").getString("status"));
            assertEquals("up", components.getJsonObject("store").getString("status"));
          });
          a.down(false);
          return after(500);
        })
        .compose(v -> web.getAbs(gateway.url("/readyz")).send())
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(200, r.statusCode(), r.bodyAsString());
          assertEquals("ready", r.bodyAsJsonObject().getString("status"));
          ctx.completeNow();
        })));
  }

  static String streamedText(String sse) {
    StringBuilder text = new StringBuilder();
    for (String event : sse.split("\n\n")) {
      if (event.startsWith("data: {")) {
        JsonObject chunk = new JsonObject(event.substring(6));
        for (Object c : chunk.getJsonArray("choices", new JsonArray())) {
          text.append(((JsonObject) c).getJsonObject("delta").getString("content", ""));
        }
      }
    }
    return text.toString();
  }
}
