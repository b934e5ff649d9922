package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.OutboundGuard;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SelfSignedCertificate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class HttpFetchSkillTest {

  static Vertx vertx;
  static HttpServer server;
  static final AtomicInteger hits = new AtomicInteger();

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    server = vertx.createHttpServer().requestHandler(req -> {
      hits.incrementAndGet();
      switch (req.path()) {
        case "/big" -> req.response().putHeader("content-type", "text/plain").end("x".repeat(100_000));
        case "/moved" -> req.response().setStatusCode(302).putHeader("location", "http://169.254.169.254/latest/").end();
        case "/echo" -> req.body().onSuccess(b -> req.response().putHeader("content-type", "text/plain")
            .end(req.method() + " " + req.getHeader("host") + " " + req.getHeader("x-test") + " " + b));
        case "/slow" -> { } // never answers
        default -> req.response().putHeader("content-type", "text/plain").end("hello");
      }
    }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
  }

  @AfterAll
  static void stop() throws Exception {
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void loopbackIsRefusedWhenNotListed() {
    String why = failure(new HttpFetchSkill(List.of("example.com")), url("/"));
    assertTrue(why.contains("'127.0.0.1' is not allowed"), why);
  }

  @Test
  void theMetadataAddressIsRefusedWhenNotListed() {
    String why = failure(new HttpFetchSkill(List.of("example.com")), "http://169.254.169.254/latest/meta-data/");
    assertTrue(why.contains("'169.254.169.254' is not allowed"), why);
  }

  @Test
  void aListedNameThatResolvesToLoopbackIsRefused() {
    // localhost is allowed by name, but its address is internal and not listed itself
    String why = failure(new HttpFetchSkill(List.of("localhost")), "http://localhost:" + server.actualPort() + "/");
    assertTrue(why.contains("resolves to the internal address"), why);
  }

  @Test
  void aNameTheGatewaysOutboundGuardAllowsMayResolveToLoopback() throws Exception {
    Vertx own = Vertx.vertx();
    try {
      OutboundGuard.of(List.of("localhost")).install(own);
      String answer = new HttpFetchSkill(List.of("localhost"))
          .run(new SkillCall(args("http://localhost:" + server.actualPort() + "/hello"), List.of(), "test", own))
          .await(15, TimeUnit.SECONDS);
      assertTrue(answer.startsWith("HTTP 200"), answer);
    } finally {
      own.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theGatewaysOutboundAllowListDoesNotWidenTheHostsHttpFetchMayCall() throws Exception {
    Vertx own = Vertx.vertx();
    try {
      OutboundGuard.of(List.of("127.0.0.1")).install(own);
      Future<String> result = new HttpFetchSkill(List.of("example.com"))
          .run(new SkillCall(args(url("/hello")), List.of(), "test", own));
      String why = assertThrows(Exception.class, () -> result.await(15, TimeUnit.SECONDS)).getMessage();
      assertTrue(why.contains("'127.0.0.1' is not allowed"), why);
    } finally {
      own.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void anEmptyAllowListRefusesEverythingAndSaysHowToAllow() {
    String why = failure(new HttpFetchSkill(List.of()), "https://example.com/");
    assertTrue(why.contains("agent.http_fetch.allow"), why);
  }

  @Test
  void onlyHttpAndHttpsAreFetched() {
    String why = failure(new HttpFetchSkill(List.of("127.0.0.1")), "file:///etc/passwd");
    assertTrue(why.contains("only http:// and https://"), why);
  }

  @Test
  void aListedLoopbackAddressIsFetched() throws Exception {
    String answer = answer(new HttpFetchSkill(List.of("127.0.0.1")), args(url("/hello")));
    assertEquals("HTTP 200 OK\ncontent-type: text/plain\n\nhello", answer);
  }

  @Test
  void postSendsTheBodyAndHeaders() throws Exception {
    JsonObject args = args(url("/echo")).put("method", "POST").put("body", "ping")
        .put("headers", new JsonObject().put("x-test", "yes"));
    String answer = answer(new HttpFetchSkill(List.of("127.0.0.1")), args);
    assertTrue(answer.endsWith("POST 127.0.0.1:" + server.actualPort() + " yes ping"), answer);
  }

  @Test
  void aLongBodyIsCutWithAMarker() throws Exception {
    String answer = answer(new HttpFetchSkill(List.of("127.0.0.1"), 1000, 10_000), args(url("/big")));
    assertTrue(answer.endsWith("x".repeat(1000) + "\n[cut: the body is longer than 1000 bytes]"), answer.substring(answer.length() - 80));
    assertFalse(answer.contains("x".repeat(1001)));
  }

  @Test
  void aRedirectIsReportedNotFollowed() throws Exception {
    int before = hits.get();
    String answer = answer(new HttpFetchSkill(List.of("127.0.0.1")), args(url("/moved")));
    assertTrue(answer.startsWith("HTTP 302"), answer);
    assertTrue(answer.contains("redirect (not followed) to: http://169.254.169.254/latest/"), answer);
    assertEquals(before + 1, hits.get());
  }

  @Test
  void aServerThatDoesNotAnswerHitsTheTimeLimit() {
    String why = failure(new HttpFetchSkill(List.of("127.0.0.1"), 1000, 300), url("/slow"));
    assertTrue(why.contains("within 300 ms"), why);
  }

  @Test
  void anHttpsUrlIsFetchedOverTlsAndAnUntrustedCertificateIsRefused() throws Exception {
    SelfSignedCertificate certificate = SelfSignedCertificate.create("localhost");
    AtomicInteger served = new AtomicInteger();
    HttpServer tls = vertx.createHttpServer(new HttpServerOptions().setSsl(true).setKeyCertOptions(certificate.keyCertOptions()))
        .requestHandler(req -> {
          served.incrementAndGet();
          req.response().end("secret");
        }).listen(0, "127.0.0.1").await(10, TimeUnit.SECONDS);
    try {
      String why = failure(new HttpFetchSkill(List.of("localhost", "127.0.0.1")), "https://localhost:" + tls.actualPort() + "/");
      assertTrue(why.startsWith("localhost: TLS refused: the server's certificate is not trusted"), why);
      assertEquals(0, served.get(), "no request may be sent over a connection whose certificate is not trusted");
    } finally {
      tls.close().await(10, TimeUnit.SECONDS);
      certificate.delete();
    }
  }

  private static String url(String path) {
    return "http://127.0.0.1:" + server.actualPort() + path;
  }

  private static JsonObject args(String url) {
    return new JsonObject().put("url", url);
  }

  private static String answer(HttpFetchSkill skill, JsonObject args) throws Exception {
    return skill.run(new SkillCall(args, List.of(), "test", vertx)).await(15, TimeUnit.SECONDS);
  }

  private static String failure(HttpFetchSkill skill, String url) {
    Future<String> result = skill.run(new SkillCall(args(url), List.of(), "test", vertx));
    try {
      String answer = result.await(15, TimeUnit.SECONDS);
      throw new AssertionError("fetched: " + answer);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError(e);
    } catch (Exception e) {
      return String.valueOf(e.getMessage());
    }
  }
}
