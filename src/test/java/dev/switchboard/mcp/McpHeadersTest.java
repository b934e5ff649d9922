package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A url server's {@code headers} go with the requests to it (an HTTP server that records them and answers 503). */
class McpHeadersTest {

  @Test
  void theConfiguredHeadersAreSentToAUrlServer() throws Exception {
    Vertx fakes = Vertx.vertx();
    try {
      Promise<MultiMap> first = Promise.promise();
      HttpServer server = fakes.createHttpServer().requestHandler(req -> {
        if ("/mcp".equals(req.path())) {
          first.tryComplete(MultiMap.caseInsensitiveMultiMap().addAll(req.headers()));
        }
        req.response().setStatusCode(503).end();
      }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
      FakeUpstream upstream = FakeUpstream.start(fakes).await(10, TimeUnit.SECONDS);
      try (TestGateway gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
          .env("SEARCH_TOKEN", "abc123")
          .file("switchboard.yaml", "mcp:\n  servers:\n    - name: search\n      url: \"http://127.0.0.1:" + server.actualPort()
              + "/mcp\"\n      headers: { Authorization: \"Bearer ${SEARCH_TOKEN}\", X-Team: ops }\n")
          .start()) {
        MultiMap headers = first.future().await(20, TimeUnit.SECONDS);
        assertEquals("Bearer abc123", headers.get("Authorization"));
        assertEquals("ops", headers.get("X-Team"));
      }
    } finally {
      fakes.close().await(10, TimeUnit.SECONDS);
    }
  }
}
