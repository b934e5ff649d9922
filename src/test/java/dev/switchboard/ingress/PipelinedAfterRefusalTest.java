package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A response with {@code Connection: close} is the last one on its connection (RFC 9112 §9.6): a
 * request pipelined behind a refused one, in the same write, is neither routed nor answered. With
 * a transfer coding the gateway does not accept, the bytes a proxy would take for the body are
 * exactly such a request, so running it would let a client smuggle requests past the proxy.
 * The pipelined request here is {@code GET /healthz}, which would be answered 200 if it ran.
 */
@DisplayName("A request pipelined behind a refused one does not run")
class PipelinedAfterRefusalTest {

  static final int WAIT = 5000;
  static final String PIPELINED = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  static TestGateway gateway;

  @BeforeAll
  static void start() {
    gateway = TestGateway.builder().start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  /** Sends {@code refused} and the pipelined request in one write; one answer, {@code status}, and a closed connection. */
  private static void onlyTheRefusalIsAnswered(String refused, int status) throws Exception {
    RawHttp.Answer a = RawHttp.exchange(gateway.port(), refused + PIPELINED, WAIT);
    assertTrue(a.closed(), "connection left open: " + a.text());
    List<Integer> statuses = a.statuses();
    assertEquals(List.of(status), statuses, a.text());
    assertTrue(a.text().toLowerCase().contains("connection: close"), a.text());
  }

  @Test
  @DisplayName("after Transfer-Encoding: gzip (400), the bytes behind it are not run as a request")
  void unsupportedTransferCoding() throws Exception {
    onlyTheRefusalIsAnswered("POST /webhooks/hooks/ci HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400);
  }

  @Test
  @DisplayName("after an unknown expectation (417), the next request does not run")
  void unknownExpectation() throws Exception {
    onlyTheRefusalIsAnswered("GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: foo\r\n\r\n", 417);
  }

  @Test
  @DisplayName("after two Host headers (400), the next request does not run")
  void twoHosts() throws Exception {
    onlyTheRefusalIsAnswered("GET /healthz HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
  }

  @Test
  @DisplayName("after a request refused before its body was read (401), the request behind the body does not run")
  void refusedBeforeBody() throws Exception {
    onlyTheRefusalIsAnswered("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + "Content-Length: 2\r\n\r\n{}", 401);
  }

  @Test
  @DisplayName("pipelined requests after an ordinary answer are all served")
  void pipelinedServed() throws Exception {
    RawHttp.Answer a = RawHttp.exchange(gateway.port(), PIPELINED + PIPELINED
        + "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", WAIT);
    assertEquals(List.of(200, 200, 200), a.statuses(), a.text());
  }
}
