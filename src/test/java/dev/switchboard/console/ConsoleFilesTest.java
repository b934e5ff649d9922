package dev.switchboard.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** How the console's files are served: from the jar, open, with a strict policy and revalidated caching. */
class ConsoleFilesTest {

  static final Path SOURCES = Path.of("src/main/resources/console");
  static Vertx vertx;
  static TestGateway gateway;
  static WebClient web;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx, new WebClientOptions().setFollowRedirects(false));
    gateway = TestGateway.builder().start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private static HttpResponse<Buffer> get(String path, String... headers) throws Exception {
    var request = web.getAbs(gateway.url(path));
    for (int i = 0; i < headers.length; i += 2) {
      request.putHeader(headers[i], headers[i + 1]);
    }
    return request.send().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("/console redirects to /console/, whose page is served without a token")
  void pageNeedsNoToken() throws Exception {
    HttpResponse<Buffer> bare = get("/console");
    assertEquals(302, bare.statusCode());
    assertEquals("/console/", bare.getHeader("Location"));
    HttpResponse<Buffer> page = get("/console/");
    assertEquals(200, page.statusCode(), page.bodyAsString());
    assertTrue(page.getHeader("Content-Type").startsWith("text/html"), page.getHeader("Content-Type"));
    assertTrue(page.bodyAsString().contains("<script type=\"module\" src=\"app.js\">"));
  }

  @Test
  @DisplayName("every file carries the strict Content-Security-Policy, nosniff, no framing and no referrer")
  void strictHeaders() throws Exception {
    for (String path : List.of("/console/", "/console/app.js", "/console/console.css")) {
      HttpResponse<Buffer> r = get(path);
      assertEquals(200, r.statusCode(), path);
      assertEquals(Console.CONTENT_SECURITY_POLICY, r.getHeader("Content-Security-Policy"), path);
      assertEquals("nosniff", r.getHeader("X-Content-Type-Options"), path);
      assertEquals("DENY", r.getHeader("X-Frame-Options"), path);
      assertEquals("no-referrer", r.getHeader("Referrer-Policy"), path);
    }
    assertTrue(Console.CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    assertFalse(Console.CONTENT_SECURITY_POLICY.contains("unsafe"));
  }

  @Test
  @DisplayName("HEAD answers a file's headers and length, without its body")
  void head() throws Exception {
    HttpResponse<Buffer> r = web.headAbs(gateway.url("/console/app.js")).send().await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode());
    assertEquals(String.valueOf(Files.size(SOURCES.resolve("app.js"))), r.getHeader("Content-Length"));
    assertEquals(Console.CONTENT_SECURITY_POLICY, r.getHeader("Content-Security-Policy"));
    assertNull(r.body());
  }

  @Test
  @DisplayName("modules are served as JavaScript (a browser refuses a module of another type under nosniff)")
  void modulesAreJavaScript() throws Exception {
    HttpResponse<Buffer> r = get("/console/views.js");
    assertEquals(200, r.statusCode());
    assertTrue(r.getHeader("Content-Type").contains("javascript"), r.getHeader("Content-Type"));
  }

  @Test
  @DisplayName("caching: revalidate every time (no-cache), and an unchanged file is a 304")
  void revalidated() throws Exception {
    HttpResponse<Buffer> first = get("/console/app.js");
    assertEquals("no-cache", first.getHeader("Cache-Control"));
    String modified = first.getHeader("Last-Modified");
    assertTrue(modified != null && !modified.isBlank());
    HttpResponse<Buffer> again = get("/console/app.js", "If-Modified-Since", modified);
    assertEquals(304, again.statusCode());
    String tag = first.getHeader("ETag");
    assertEquals(304, get("/console/app.js", "If-None-Match", tag).statusCode());
    // the content decides: a tag of other content is the file, whatever the date says
    assertEquals(200, get("/console/app.js", "If-None-Match", "\"other\"", "If-Modified-Since", modified).statusCode());
  }

  @Test
  @DisplayName("a file the console does not have is the API's JSON 404; nothing outside the console's folder is reachable")
  void unknownFile() throws Exception {
    HttpResponse<Buffer> missing = get("/console/nope.js");
    assertEquals(404, missing.statusCode());
    assertEquals("not_found", missing.bodyAsJsonObject().getJsonObject("error").getString("code"));
    HttpResponse<Buffer> outside = get("/console/../conf/switchboard.yaml");
    assertEquals(404, outside.statusCode());
    HttpResponse<Buffer> encoded = get("/console/%2e%2e/conf/switchboard.yaml");
    assertEquals(404, encoded.statusCode());
  }

  @Test
  @DisplayName("the files come from the jar only: a console/ folder in the working directory is neither served nor put in their place")
  void onlyFromTheJar() throws Exception {
    Path local = Path.of("console");
    assertFalse(Files.exists(local), "the working directory already has a console/ folder");
    Files.createDirectories(local);
    try {
      Files.writeString(local.resolve("notes.txt"), "a file of the working directory");
      Files.writeString(local.resolve("index.html"), "<h1>not the console</h1>");
      Files.writeString(local.resolve("app.js"), "alert('not the console')");
      assertEquals(404, get("/console/notes.txt").statusCode());
      assertTrue(get("/console/").bodyAsString().contains("<script type=\"module\" src=\"app.js\">"));
      assertEquals(Files.readString(SOURCES.resolve("app.js")), get("/console/app.js").bodyAsString());
    } finally {
      try (Stream<Path> files = Files.list(local)) {
        for (Path file : files.toList()) {
          Files.delete(file);
        }
      }
      Files.delete(local);
    }
  }

  @Test
  @DisplayName("the console's API calls still need the token: /console/ is open, /api is not")
  void apiStillNeedsToken() throws Exception {
    assertEquals(401, get("/api/v1/providers").statusCode());
  }

  @Test
  @DisplayName("no console file writes markup from strings, evaluates code, or loads anything from another origin")
  void sourcesStaySafe() throws IOException {
    Pattern markup = Pattern.compile("innerHTML\\s*=|outerHTML\\s*=|insertAdjacentHTML|document\\.write|\\beval\\(|new Function\\(");
    Pattern remote = Pattern.compile("(?<![\\w.])(https?:)?//[a-z0-9.-]+\\.[a-z]{2,}", Pattern.CASE_INSENSITIVE);
    try (Stream<Path> files = Files.list(SOURCES)) {
      for (Path file : files.toList()) {
        String text = Files.readString(file);
        assertNull(markup.matcher(text).results().findFirst().map(m -> m.group()).orElse(null), file.toString());
        String found = remote.matcher(text).results().map(m -> m.group())
            .filter(u -> !u.equals("http://www.w3.org")).findFirst().orElse(null);
        assertNull(found, file + " refers to another origin");
      }
    }
  }
}
