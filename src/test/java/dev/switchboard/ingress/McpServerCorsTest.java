package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code /mcp} for a browser client on an origin listed in {@code security.cors.origins}. */
@DisplayName("MCP server at /mcp: CORS")
class McpServerCorsTest {

  static final String APP = "https://ide.example.com";
  static Vertx vertx;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    FakeUpstream upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl())
        .file("switchboard.yaml", ShippedConf.switchboardWith("security", "  cors: { origins: [\"" + APP + "\"] }"))
        .start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
    vertx.close().await();
  }

  @Test
  @DisplayName("a preflight from a listed origin is granted the MCP headers, without a token")
  void preflightGranted() throws Exception {
    HttpResponse<Buffer> r = WebClient.create(vertx).requestAbs(HttpMethod.OPTIONS, gateway.url("/mcp"))
        .putHeader("Origin", APP).putHeader("Access-Control-Request-Method", "POST")
        .putHeader("Access-Control-Request-Headers", "authorization, content-type, mcp-session-id, mcp-protocol-version")
        .send().await(10, TimeUnit.SECONDS);
    assertEquals(204, r.statusCode(), r.bodyAsString());
    assertEquals(APP, r.getHeader("Access-Control-Allow-Origin"));
    String headers = r.getHeader("Access-Control-Allow-Headers");
    assertTrue(headers.contains("Mcp-Session-Id") && headers.contains("MCP-Protocol-Version"), headers);
  }

  @Test
  @DisplayName("a listed origin's initialize may read the session id header")
  void sessionIdIsExposed() throws Exception {
    HttpResponse<Buffer> r = WebClient.create(vertx).postAbs(gateway.url("/mcp"))
        .bearerTokenAuthentication(gateway.token("browser")).putHeader("Origin", APP)
        .putHeader("Accept", "application/json, text/event-stream")
        .sendJsonObject(new JsonObject().put("jsonrpc", "2.0").put("id", 1).put("method", "initialize")
            .put("params", new JsonObject().put("protocolVersion", "2025-06-18").put("capabilities", new JsonObject())
                .put("clientInfo", new JsonObject().put("name", "browser").put("version", "1"))))
        .await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertNotNull(r.getHeader("Mcp-Session-Id"));
    assertEquals(APP, r.getHeader("Access-Control-Allow-Origin"));
    assertTrue(r.getHeader("Access-Control-Expose-Headers").contains("Mcp-Session-Id"));
  }

  @Test
  @DisplayName("another origin is refused, listed ones notwithstanding")
  void otherOriginRefused() throws Exception {
    HttpResponse<Buffer> r = WebClient.create(vertx).postAbs(gateway.url("/mcp"))
        .bearerTokenAuthentication(gateway.token("browser")).putHeader("Origin", "https://other.example.com")
        .sendJsonObject(new JsonObject()).await(10, TimeUnit.SECONDS);
    assertEquals(403, r.statusCode(), r.bodyAsString());
  }
}
