package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code security.cors.origins}: browsers on the listed origins may call the API; no one else gets a grant. */
@DisplayName("CORS")
class CorsTest {

  static final String APP = "https://app.example.com";
  static Vertx vertx;
  static FakeUpstream upstream;
  static TestGateway withCors;
  static TestGateway withoutCors;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    withCors = TestGateway.builder().upstream(upstream.baseUrl())
        .file("switchboard.yaml", ShippedConf.switchboardWith("security", "  cors: { origins: [\"" + APP + "\"] }"))
        .start();
    withoutCors = TestGateway.builder().upstream(upstream.baseUrl()).start();
  }

  @AfterAll
  static void stop() {
    withCors.close();
    withoutCors.close();
    vertx.close().await();
  }

  private static HttpResponse<Buffer> preflight(TestGateway gateway, String origin) throws Exception {
    return WebClient.create(vertx).requestAbs(HttpMethod.OPTIONS, gateway.url("/v1/chat/completions"))
        .putHeader("Origin", origin)
        .putHeader("Access-Control-Request-Method", "POST")
        .putHeader("Access-Control-Request-Headers", "authorization, content-type")
        .send().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("a preflight from a listed origin is granted the API's methods and headers")
  void preflightGranted() throws Exception {
    HttpResponse<Buffer> r = preflight(withCors, APP);
    assertEquals(204, r.statusCode(), r.bodyAsString());
    assertEquals(APP, r.getHeader("Access-Control-Allow-Origin"));
    String methods = r.getHeader("Access-Control-Allow-Methods");
    for (String m : new String[] {"GET", "POST", "DELETE"}) {
      assertTrue(methods.contains(m), methods);
    }
    String headers = r.getHeader("Access-Control-Allow-Headers").toLowerCase();
    assertTrue(headers.contains("authorization") && headers.contains("content-type"), headers);
    assertNull(r.getHeader("Access-Control-Allow-Credentials"));
  }

  @Test
  @DisplayName("a preflight from an unlisted origin gets no grant")
  void preflightRefused() throws Exception {
    HttpResponse<Buffer> r = preflight(withCors, "https://evil.example.net");
    assertNotEquals(204, r.statusCode());
    assertNull(r.getHeader("Access-Control-Allow-Origin"));
    assertNull(r.getHeader("Access-Control-Allow-Methods"));
  }

  @Test
  @DisplayName("an API answer to a listed origin allows it and exposes the x-switchboard headers")
  void actualRequest() throws Exception {
    HttpResponse<Buffer> r = WebClient.create(vertx).postAbs(withCors.url("/v1/chat/completions"))
        .putHeader("Origin", APP).bearerTokenAuthentication(withCors.token("alice"))
        .sendJsonObject(new io.vertx.core.json.JsonObject().put("model", "fake-model")
            .put("messages", new io.vertx.core.json.JsonArray().add(new io.vertx.core.json.JsonObject()
                .put("role", "user").put("content", "hi"))))
        .await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals(APP, r.getHeader("Access-Control-Allow-Origin"));
    String exposed = r.getHeader("Access-Control-Expose-Headers").toLowerCase();
    assertTrue(exposed.contains("x-switchboard-provider") && exposed.contains("x-switchboard-overhead-ms"), exposed);
  }

  @Test
  @DisplayName("without security.cors there are no CORS headers at all")
  void off() throws Exception {
    HttpResponse<Buffer> r = preflight(withoutCors, APP);
    assertNull(r.getHeader("Access-Control-Allow-Origin"));
    HttpResponse<Buffer> models = WebClient.create(vertx).getAbs(withoutCors.url("/v1/models")).putHeader("Origin", APP)
        .bearerTokenAuthentication(withoutCors.token("alice")).send().await(10, TimeUnit.SECONDS);
    assertEquals(200, models.statusCode());
    assertNull(models.getHeader("Access-Control-Allow-Origin"));
  }

  @Test
  @DisplayName("webhooks, called by platforms and not by browsers, are not subject to CORS")
  void webhooksUntouched() throws Exception {
    HttpResponse<Buffer> r = WebClient.create(vertx).postAbs(withCors.url("/webhooks/hooks/ci"))
        .putHeader("Origin", "https://evil.example.net").sendBuffer(Buffer.buffer("{}")).await(10, TimeUnit.SECONDS);
    assertNull(r.getHeader("Access-Control-Allow-Origin"));
    assertNotEquals(403, r.statusCode(), r.bodyAsString());
  }
}
