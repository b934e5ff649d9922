package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Requests that HTTP/1.1 says cannot be served as they are get their 4xx at once and the
 * connection is closed (as nginx does); none of them is left hanging. Every read here has a
 * timeout far longer than an answer takes, so a hang fails the test.
 */
@DisplayName("Malformed or unsafe HTTP framing is answered at once")
class HttpFramingTest {

  static final int WAIT = 5000;
  static TestGateway gateway;
  static String token;

  @BeforeAll
  static void start() {
    gateway = TestGateway.builder()
        .file("switchboard.yaml", ShippedConf.switchboardWith("server", "  header_timeout: 1s"))
        .start();
    token = gateway.token("alice");
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  private static RawHttp.Answer exchange(String request) throws Exception {
    return RawHttp.exchange(gateway.port(), request, WAIT);
  }

  @Test
  @DisplayName("Content-Length together with Transfer-Encoding is 400 and the connection is closed")
  void contentLengthAndTransferEncoding() throws Exception {
    RawHttp.Answer a = exchange("POST /webhooks/hooks/ci HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        + "Transfer-Encoding: chunked\r\n\r\nhello");
    assertEquals(400, a.status(), a.text());
    assertTrue(a.body().contains("conflicting_framing"), a.text());
    assertTrue(a.closed(), "connection left open: " + a.text());
  }

  @Test
  @DisplayName("a transfer coding other than chunked is 400 and the connection is closed")
  void unknownTransferCoding() throws Exception {
    RawHttp.Answer a = exchange("POST /webhooks/hooks/ci HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello");
    assertEquals(400, a.status(), a.text());
    assertTrue(a.closed(), a.text());
  }

  @Test
  @DisplayName("a malformed chunked body is 400, not a silent close")
  void malformedChunkedBody() throws Exception {
    RawHttp.Answer a = exchange("POST /webhooks/hooks/ci HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + "2\r\n{}\r\nzz\r\n");
    assertEquals(400, a.status(), a.text());
    assertTrue(a.body().contains("malformed_body"), a.text());
    assertTrue(a.closed(), a.text());
  }

  @Test
  @DisplayName("an expectation other than 100-continue is 417 and the connection is closed")
  void unknownExpectation() throws Exception {
    RawHttp.Answer a = exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
        + "\r\nContent-Length: 2\r\nExpect: something-else\r\n\r\n");
    assertEquals(417, a.status(), a.text());
    assertTrue(a.closed(), a.text());
  }

  @Test
  @DisplayName("Expect: 100-continue without a valid token gets 401 at once, no 100, and the body is not awaited")
  void continueRefused() throws Exception {
    RawHttp.Answer a = exchange("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "Content-Length: 100000\r\nExpect: 100-continue\r\n\r\n");
    assertEquals(401, a.status(), a.text());
    assertFalse(a.text().startsWith("HTTP/1.1 100"), a.text());
    assertTrue(a.closed(), a.text());
  }

  @Test
  @DisplayName("Expect: 100-continue on a route that is not found gets 404 at once and the connection is closed")
  void continueNotFound() throws Exception {
    RawHttp.Answer a = exchange("POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n");
    assertEquals(404, a.status(), a.text());
    assertTrue(a.closed(), a.text());
  }

  @Test
  @DisplayName("Expect: 100-continue with a token and an acceptable body gets 100 Continue, then the answer")
  void continueAccepted() throws Exception {
    String body = "{\"model\": 5}";
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token
          + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length() + "\r\nExpect: 100-continue\r\n\r\n");
      RawHttp.Answer interim = http.readUntilClosed(1000);
      assertTrue(interim.text().startsWith("HTTP/1.1 100 Continue"), interim.text());
      http.send(body);
      RawHttp.Answer a = http.readResponse(WAIT);
      assertEquals(400, a.status(), a.text());
      assertTrue(a.body().contains("missing_model"), a.text());
    }
  }

  @Test
  @DisplayName("an HTTP/1.1 request without Host is 400 (not 500) and the connection is closed")
  void missingHost() throws Exception {
    RawHttp.Answer a = exchange("GET /healthz HTTP/1.1\r\n\r\n");
    assertEquals(400, a.status(), a.text());
    assertTrue(a.body().contains("Host"), a.text());
    assertTrue(a.closed(), a.text());
  }

  @Test
  @DisplayName("two Host headers are 400")
  void twoHosts() throws Exception {
    RawHttp.Answer a = exchange("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    assertEquals(400, a.status(), a.text());
    assertTrue(a.closed(), a.text());
  }

  @Test
  @DisplayName("an HTTP/1.0 request without Host is served")
  void http10WithoutHost() throws Exception {
    RawHttp.Answer a = exchange("GET /healthz HTTP/1.0\r\n\r\n");
    assertEquals(200, a.status(), a.text());
  }

  @Test
  @DisplayName("Upgrade: h2c is ignored: the request is answered over HTTP/1.1 at once")
  void h2cUpgradeIgnored() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
          + "HTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n");
      RawHttp.Answer a = http.readResponse(WAIT);
      assertTrue(a.text().startsWith("HTTP/1.1 200"), a.text());
    }
  }

  @Test
  @DisplayName("Upgrade: h2c without settings is answered over HTTP/1.1 too, not left hanging")
  void h2cWithoutSettings() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
      RawHttp.Answer a = http.readResponse(WAIT);
      assertTrue(a.text().startsWith("HTTP/1.1 200"), a.text());
    }
  }

  @Test
  @DisplayName("Upgrade: websocket on a plain route is answered as a plain request")
  void websocketOnPlainRoute() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
          + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
      RawHttp.Answer a = http.readResponse(WAIT);
      assertTrue(a.text().startsWith("HTTP/1.1 200"), a.text());
    }
  }

  @Test
  @DisplayName("empty lines before a request line are skipped")
  void leadingEmptyLines() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, http.readResponse(WAIT).status());
    }
  }

  @Test
  @DisplayName("a connection that only sends empty lines is closed after header_timeout")
  void onlyEmptyLines() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("\r\n");
      assertTrue(http.closedWithin(WAIT), "a connection sending only CRLF was kept open");
    }
  }

  @Test
  @DisplayName("a kept-alive connection serves a second request after the first")
  void keepAlive() throws Exception {
    try (RawHttp http = new RawHttp(gateway.port())) {
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, http.readResponse(WAIT).status());
      http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, http.readResponse(WAIT).status());
    }
  }
}
