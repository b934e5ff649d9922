package dev.switchboard.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(VertxExtension.class)
@DisplayName("The Channel SPI")
class ChannelSpiTest {

  FakePlatform receiver;
  TestGateway gateway;

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    receiver = FakePlatform.start(vertx, "{}").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            echo:
              - name: "e1"
                url: "%s"
            """.formatted(receiver.url("/said")))
        .start();
  }

  @AfterEach
  void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("a channel from a provider on the class path is configured, targeted by a task and pushed to like a built-in one")
  void pluginChannel(Vertx vertx, VertxTestContext ctx) {
    String token = gateway.token("alice");
    WebClient web = WebClient.create(vertx);
    JsonObject task = new JsonObject().put("input", "plug-in")
        .put("channels", new JsonArray().add(new JsonObject().put("type", "echo").put("bot", "e1")));
    web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(token).sendJsonObject(task)
        .compose(r -> {
          Promise<Void> pushed = Promise.promise();
          long deadline = System.currentTimeMillis() + 15_000;
          vertx.setPeriodic(25, id -> {
            if (!receiver.received().isEmpty() || System.currentTimeMillis() > deadline) {
              vertx.cancelTimer(id);
              pushed.complete();
            }
          });
          return pushed.future();
        })
        .onComplete(ctx.succeeding(v -> ctx.verify(() -> {
          assertEquals(new JsonObject().put("said", "echo: plug-in"), receiver.received().get(0).json());
          ctx.completeNow();
        })));
  }
}
