package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** POST /webhooks/hooks/{name}: signed JSON in, one event per delivery out. */
@ExtendWith(VertxExtension.class)
@DisplayName("Generic inbound webhooks")
class InboundWebhookTest {

  static final String SECRET = "ci-hook-secret";

  TestGateway gateway;
  WebClient web;
  final List<JsonObject> events = new CopyOnWriteArrayList<>();

  Vertx vertx;

  @BeforeEach
  void start(Vertx vertx) {
    this.vertx = vertx;
    gateway = TestGateway.builder().file("channels.yaml", """
        webhooks:
          - name: "ci"
            secret: "%s"
        """.formatted(SECRET)).start();
    // every event the events component hands to the rules (which run as shipped), as it is sent
    gateway.vertx().eventBus().addOutboundInterceptor(dc -> {
      if (Addresses.RULES_EVENT.equals(dc.message().address()) && dc.message().body() instanceof JsonObject e) {
        events.add(e);
      }
      dc.next();
    });
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  /** Signed by the test's own HMAC code, as a sender would. */
  private Future<HttpResponse<Buffer>> send(String hook, String body, long ts, String secret, String delivery) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    String sig = "sha256=" + HexFormat.of().formatHex(mac.doFinal((ts + "." + body).getBytes(StandardCharsets.UTF_8)));
    var req = web.postAbs(gateway.url("/webhooks/hooks/" + hook))
        .putHeader("content-type", "application/json")
        .putHeader("x-switchboard-timestamp", String.valueOf(ts))
        .putHeader("x-switchboard-signature", sig);
    if (delivery != null) {
      req.putHeader("x-switchboard-delivery", delivery);
    }
    return req.sendBuffer(Buffer.buffer(body));
  }

  /** The event bus delivers on its own thread: wait (bounded) until {@code n} events arrived. */
  private Future<Void> eventually(int n) {
    io.vertx.core.Promise<Void> p = io.vertx.core.Promise.promise();
    long deadline = System.currentTimeMillis() + 5000;
    vertx.setPeriodic(10, id -> { // the test's own loop: a timer set from another thread can fire before it is armed
      if (events.size() >= n || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        p.tryComplete();
      }
    });
    return p.future();
  }

  private static long now() {
    return System.currentTimeMillis() / 1000;
  }

  @Test
  @DisplayName("a correctly signed body is accepted with 202 and published as an event, without a token")
  void accepted(VertxTestContext ctx) throws Exception {
    send("ci", "{\"build\":\"#42\",\"status\":\"failed\"}", now(), SECRET, "d-1")
        .compose(r -> eventually(1).map(r))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(202, r.statusCode(), r.bodyAsString());
          assertEquals("accepted", r.bodyAsJsonObject().getString("status"));
          assertEquals(1, events.size());
          JsonObject e = events.get(0);
          assertEquals("ci", e.getString("hook"));
          assertEquals("#42", e.getJsonObject("body").getString("build"));
          assertEquals(r.bodyAsJsonObject().getString("id"), e.getString("id"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a wrong signature, a wrong secret and a stale timestamp are 401 and publish nothing")
  void refused(VertxTestContext ctx) throws Exception {
    String body = "{\"a\":1}";
    send("ci", body, now(), "not-the-secret", null)
        .compose(r -> {
          ctx.verify(() -> assertEquals(401, r.statusCode()));
          try {
            return send("ci", body, now() - 600, SECRET, null);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(401, r.statusCode());
            assertTrue(r.bodyAsString().contains("5 minutes"));
          });
          return web.postAbs(gateway.url("/webhooks/hooks/ci")).putHeader("x-switchboard-timestamp", String.valueOf(now()))
              .putHeader("x-switchboard-signature", "sha256=00").sendBuffer(Buffer.buffer(body));
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(401, r.statusCode());
          assertEquals(0, events.size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a re-delivery with the same id is answered 200 duplicate and published once, also after a restart")
  void deduplicated(VertxTestContext ctx) throws Exception {
    String body = "{\"n\":1}";
    send("ci", body, now(), SECRET, "same-id")
        .compose(r -> {
          try {
            return send("ci", body, now(), SECRET, "same-id");
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode());
            assertEquals("duplicate", r.bodyAsJsonObject().getString("status"));
          });
          return Future.fromCompletionStage(java.util.concurrent.CompletableFuture.runAsync(gateway::restart));
        })
        .compose(v -> {
          try {
            return send("ci", body, now(), SECRET, "same-id");
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(200, r.statusCode(), r.bodyAsString());
          assertEquals(1, events.size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("an unknown hook is 404 and a body that is not a JSON object is 400")
  void unknownAndMalformed(VertxTestContext ctx) throws Exception {
    send("nope", "{}", now(), SECRET, null)
        .compose(r -> {
          ctx.verify(() -> assertEquals(404, r.statusCode()));
          try {
            return send("ci", "[1,2", now(), SECRET, null);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(400, r.statusCode(), r.bodyAsString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a captured request sent again with its delivery header changed or dropped is a duplicate: the signature is claimed too")
  void replayWithOtherDeliveryHeader(VertxTestContext ctx) throws Exception {
    String body = "{\"deploy\":\"prod\"}";
    long ts = now();
    send("ci", body, ts, SECRET, "d-1")
        .compose(r -> {
          ctx.verify(() -> assertEquals(202, r.statusCode(), r.bodyAsString()));
          try {
            return send("ci", body, ts, SECRET, "d-2");
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("duplicate", r.bodyAsJsonObject().getString("status"));
          });
          try {
            return send("ci", body, ts, SECRET, null);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals("duplicate", r.bodyAsJsonObject().getString("status"));
          });
          try {
            // the same content signed a second later is a new request, as a sender re-signing would make
            return send("ci", body, ts + 1, SECRET, null);
          } catch (Exception e) {
            return Future.failedFuture(e);
          }
        })
        .compose(r -> eventually(2).map(r))
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(202, r.statusCode(), r.bodyAsString());
          assertEquals(2, events.size());
          ctx.completeNow();
        })));
  }
}
