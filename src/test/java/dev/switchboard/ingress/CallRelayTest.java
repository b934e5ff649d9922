package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Failure;
import dev.switchboard.bus.LocalCodec;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.client.WebClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The edge's side of a model call when no model component is there to take it. */
@DisplayName("A call with no model component to take it fails at once with 503, not at the safety net")
class CallRelayTest {

  Vertx vertx;
  HttpServer server;

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    LocalCodec.registerAll(vertx.eventBus());
    Router router = Router.router(vertx);
    router.post("/chat").handler(ctx -> CallRelay.start(vertx, ctx, new JsonObject().put("model", "m")
            .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "hi"))),
        "t", List.of(), System.nanoTime(), Duration.ofMinutes(2), (c, stream, arrived, upstream) -> { }));
    router.route().failureHandler(ctx -> {
      Failure f = Failure.from(ctx.failure());
      ctx.response().setStatusCode(f.status()).end(f.encode());
    });
    server = vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void noModelComponentIs503AtOnce() throws Exception {
    // the safety net is two minutes: an answer within the client's ten seconds did not come from it
    var r = WebClient.create(vertx).post(server.actualPort(), "127.0.0.1", "/chat").send().await(10, TimeUnit.SECONDS);
    assertEquals(503, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("component_unavailable"), r.bodyAsString());
  }
}
