package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code server.max_connections}: connections over it get 503 and are closed; the ones under it keep working. */
@DisplayName("Connections over server.max_connections")
class ConnectionCapTest {

  static final int WAIT = 5000;
  static final int CAP = 3;
  static TestGateway gateway;

  @BeforeAll
  static void start() {
    gateway = TestGateway.builder()
        .file("switchboard.yaml", ShippedConf.switchboardWith("server", "  max_connections: " + CAP))
        .start();
  }

  @AfterAll
  static void stop() {
    gateway.close();
  }

  @Test
  @DisplayName("get 503 and are closed, while /healthz still answers on a connection under the cap")
  void overCap() throws Exception {
    List<RawHttp> held = new ArrayList<>();
    try {
      for (int i = 0; i < CAP; i++) {
        RawHttp http = new RawHttp(gateway.port());
        held.add(http);
        // answered: the gateway has counted this connection before the next one opens
        http.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals(200, http.readResponse(WAIT).status());
      }
      RawHttp.Answer over = RawHttp.exchange(gateway.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", WAIT);
      assertEquals(503, over.status(), over.text());
      assertTrue(over.body().contains("max_connections"), over.text());
      assertTrue(over.closed(), "an over-cap connection was kept open");

      RawHttp first = held.get(0);
      first.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
      assertEquals(200, first.readResponse(WAIT).status());
    } finally {
      for (RawHttp http : held) {
        http.close();
      }
    }
  }
}
