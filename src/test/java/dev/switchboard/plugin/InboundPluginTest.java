package dev.switchboard.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakePlatform;
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
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The inbound side of a plug-in channel ({@link AcmeChannelProvider}, registered through
 * META-INF/services as a jar's would be), end to end: the generic route, the plug-in's checks and
 * answers, the stored event, the shipped default rule, and the reply through the plug-in's push side.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("Plug-in channels: the inbound side")
class InboundPluginTest {

  static final String SECRET = "acme-secret";

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform receiver;
  TestGateway gateway;
  WebClient web;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    receiver = FakePlatform.start(vertx, "{}").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            acme:
              - name: "desk"
                url: "%s"
                secret: "%s"
              - name: "mute"
                url: "%s"
                secret: "${ACME_MUTE_SECRET:-}"
            """.formatted(receiver.url("/acme"), SECRET, receiver.url("/acme")))
        .start();
    web = WebClient.create(vertx);
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  private static JsonObject acmeMessage(String id, String text) {
    return new JsonObject().put("message_id", id)
        .put("chat", new JsonObject().put("id", "chat-7").put("type", "direct"))
        .put("from", new JsonObject().put("id", "u-1").put("name", "Ada"))
        .put("text", text).put("at_bot", false);
  }

  private Future<HttpResponse<Buffer>> post(String bot, JsonObject body, String signature) {
    Buffer raw = body.toBuffer();
    return web.postAbs(gateway.url("/webhooks/acme/" + bot)).putHeader("content-type", "application/json")
        .putHeader("X-Acme-Signature", signature != null ? signature : AcmeChannelProvider.signature(SECRET, raw.getBytes()))
        .sendBuffer(raw);
  }

  /** The stored events of the acme platform. */
  private Future<List<JsonObject>> stored() {
    return gateway.vertx().eventBus().<JsonObject>request(Addresses.EVENTS_LIST, new JsonObject().put("platform", "acme"))
        .map(m -> m.body().getJsonArray("data", new JsonArray()).stream().map(JsonObject.class::cast).toList());
  }

  /** Waits (bounded) until {@code done} holds; a little while when it should never hold. */
  private Future<Void> until(BooleanSupplier done, long millis) {
    Promise<Void> p = Promise.promise();
    long deadline = System.currentTimeMillis() + millis;
    vertx.setPeriodic(25, id -> {
      if (done.getAsBoolean() || System.currentTimeMillis() > deadline) {
        vertx.cancelTimer(id);
        p.complete();
      }
    });
    return p.future();
  }

  @Test
  @DisplayName("a signed message is answered with the plug-in's answer, and the default rule replies through the plug-in's push side")
  void signedMessageRepliedInPlace(VertxTestContext ctx) {
    post("desk", acmeMessage("m-1", "hello"), null)
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals(new JsonObject().put("ok", true), r.bodyAsJsonObject());
          });
          return until(() -> !receiver.received().isEmpty(), 15_000);
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(1, receiver.received().size());
          assertEquals(new JsonObject().put("chat", "chat-7").put("reply_to", "m-1").put("text", "echo: hello"),
              receiver.received().get(0).json());
          assertEquals("/acme", receiver.received().get(0).path());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("the event is stored in the contract's shape by the time the platform has its answer")
  void storedBeforeAnswer(VertxTestContext ctx) {
    // the event store is slow to get the event: an answer that did not wait for it comes first
    gateway.vertx().eventBus().addOutboundInterceptor(dc -> {
      if (Addresses.EVENTS_INBOUND.equals(dc.message().address())) {
        gateway.vertx().setTimer(300, t -> dc.next());
      } else {
        dc.next();
      }
    });
    post("desk", acmeMessage("m-2", "store me"), null)
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode(), r.bodyAsString()));
          return stored();
        })
        .onComplete(ctx.succeeding(events -> ctx.verify(() -> {
          assertEquals(1, events.size(), events.toString());
          JsonObject e = events.get(0).containsKey("event") ? events.get(0).getJsonObject("event") : events.get(0);
          assertEquals("acme:desk:m-2", e.getString("id"));
          assertEquals("message", e.getString("type"));
          assertEquals("store me", e.getString("text"));
          assertEquals(new JsonObject().put("id", "chat-7").put("type", "direct"), e.getJsonObject("conversation"));
          assertEquals(new JsonObject().put("id", "u-1").put("name", "Ada"), e.getJsonObject("sender"));
          assertTrue(e.getBoolean("mentioned"), "a direct message is addressed to the bot");
          JsonObject reply = e.getJsonObject("reply");
          assertEquals(new JsonObject().put("type", "acme").put("bot", "desk")
              .put("address", new JsonObject().put("chat", "chat-7").put("reply_to", "m-2")), reply.getJsonObject("target"));
          assertEquals("acme:desk:chat-7", reply.getJsonObject("conversation").getString("key"));
          assertEquals(new JsonArray().add("user:acme:u-1").add("conversation:acme:chat-7"), reply.getJsonArray("memory_scopes"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a message delivered twice is answered twice and stored and replied to once")
  void redeliveryStoredOnce(VertxTestContext ctx) {
    JsonObject message = acmeMessage("m-3", "once");
    post("desk", message, null)
        .compose(r -> post("desk", message, null))
        .compose(r -> {
          ctx.verify(() -> assertEquals(200, r.statusCode(), r.bodyAsString()));
          return until(() -> !receiver.received().isEmpty(), 15_000).compose(v -> until(() -> false, 500));
        })
        .compose(v -> stored())
        .onComplete(ctx.succeeding(events -> ctx.verify(() -> {
          assertEquals(1, events.size(), events.toString());
          assertEquals(1, receiver.received().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a bad signature is 401 and stores no event")
  void badSignatureRefused(VertxTestContext ctx) {
    post("desk", acmeMessage("m-4", "forged"), AcmeChannelProvider.signature("not-the-secret", acmeMessage("m-4", "forged").toBuffer().getBytes()))
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(401, r.statusCode(), r.bodyAsString());
            assertTrue(r.bodyAsString().contains("x-acme-signature"), r.bodyAsString());
          });
          return until(() -> false, 300).compose(v -> stored());
        })
        .onComplete(ctx.succeeding(events -> ctx.verify(() -> {
          assertEquals(List.of(), events);
          assertEquals(0, receiver.received().size());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a signed challenge is echoed as the plug-in answers it, and stores nothing")
  void challengeEchoed(VertxTestContext ctx) {
    String challenge = "c-8f2e";
    web.getAbs(gateway.url("/webhooks/acme/desk?challenge=" + challenge))
        .putHeader("x-acme-signature", AcmeChannelProvider.signature(SECRET, challenge.getBytes(StandardCharsets.UTF_8)))
        .send()
        .compose(r -> {
          ctx.verify(() -> {
            assertEquals(200, r.statusCode(), r.bodyAsString());
            assertEquals(challenge, r.bodyAsString());
            assertEquals("text/plain", r.getHeader("content-type"));
          });
          return stored();
        })
        .onComplete(ctx.succeeding(events -> ctx.verify(() -> {
          assertEquals(List.of(), events);
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a plug-in that says it blocks is run on a worker thread, not on an event loop")
  void blockingHandlerOnWorker(VertxTestContext ctx) {
    post("desk", acmeMessage("m-5", "where"), null)
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(200, r.statusCode(), r.bodyAsString());
          assertEquals("worker", r.getHeader("x-acme-handled-on"));
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a platform no channel takes requests for is 404; a bot that is off is 503 saying why")
  void unknownPlatformAndOffBot(VertxTestContext ctx) {
    web.postAbs(gateway.url("/webhooks/nowhere/desk")).sendBuffer(Buffer.buffer("{}"))
        .compose(r -> {
          ctx.verify(() -> assertEquals(404, r.statusCode(), r.bodyAsString()));
          return post("mute", acmeMessage("m-6", "hi"), null);
        })
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(503, r.statusCode(), r.bodyAsString());
          assertTrue(r.bodyAsString().contains("secret unset (ACME_MUTE_SECRET)"), r.bodyAsString());
          ctx.completeNow();
        })));
  }

  @Test
  @DisplayName("a body over server.max_body_size is 413 before the plug-in reads it")
  void oversizedBodyRefused(VertxTestContext ctx) {
    Buffer big = Buffer.buffer(new byte[4 * 1024 * 1024 + 1]);
    web.postAbs(gateway.url("/webhooks/acme/desk")).putHeader("x-acme-signature", AcmeChannelProvider.signature(SECRET, big.getBytes()))
        .sendBuffer(big)
        .onComplete(ctx.succeeding(r -> ctx.verify(() -> {
          assertEquals(413, r.statusCode(), r.bodyAsString());
          ctx.completeNow();
        })));
  }
}
