package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.observe.RequestIds;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** An app's access token fetched once for several pushes: each push goes on as itself. */
@ExtendWith(VertxExtension.class)
@DisplayName("A shared access-token fetch")
class TenantTokensContextTest {

  @Test
  @DisplayName("a push that waited on another push's fetch goes on with its own request id")
  void waiterKeepsItsOwnRequest(Vertx vertx) throws Exception {
    // answers after a while, so that the second push finds the first one's fetch running
    HttpServer feishu = vertx.createHttpServer().requestHandler(req -> req.body().onSuccess(b ->
        vertx.setTimer(100, id -> req.response().putHeader("content-type", "application/json")
            .end(new JsonObject().put("code", 0).put("tenant_access_token", "t-1").put("expire", 7200).encode()))))
        .listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    Path dir = Files.createTempDirectory("tokens");
    Files.writeString(dir.resolve("x.yaml"), "name: f\napp_id: i\napp_secret: s\nverification_token: v\ndomain: \"http://127.0.0.1:"
        + feishu.actualPort() + "\"\n");
    Files.writeString(dir.resolve("raw.yaml"), "{}\n");
    ConfigFiles files = new ConfigFiles(dir, k -> null);
    FeishuApp app = FeishuApp.from(files.load("x.yaml", true), files.load("raw.yaml", true));
    HttpClient client = vertx.createHttpClient();
    TenantTokens tokens = new TenantTokens(client);
    io.vertx.core.Promise<String> b = io.vertx.core.Promise.promise();
    // both on the same event loop, as in the push verticle
    vertx.getOrCreateContext().runOnContext(v -> {
      RequestIds.within(vertx, "push-a", "task-a", () -> tokens.token(app));
      RequestIds.within(vertx, "push-b", "task-b", () -> tokens.token(app).map(t -> RequestIds.current() + "/" + RequestIds.currentTask()))
          .onComplete(b);
    });
    String seen = b.future().await(10, TimeUnit.SECONDS);
    assertEquals("push-b/task-b", seen);
  }
}
