package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code server.tls.reload_check: 0}: a gateway of its own, so that TlsTest's keeps its metrics. */
@DisplayName("TLS with the file check off")
class TlsReloadOffTest {

  @Test
  @DisplayName("reload_check: 0 leaves the files alone until a reload is asked for")
  void noCheckWhenOff(@TempDir Path own) throws Exception {
    Files.copy(TlsTest.FILES.resolve("rsa-cert.pem"), own.resolve("cert.pem"));
    Files.copy(TlsTest.FILES.resolve("rsa-key-pkcs8.pem"), own.resolve("key.pem"));
    String yaml = ShippedConf.switchboardWith("server", "  tls: { enabled: true, cert: \"" + own.resolve("cert.pem")
        + "\", key: \"" + own.resolve("key.pem") + "\", reload_check: 0 }");
    try (TestGateway off = TestGateway.builder().file("switchboard.yaml", yaml).start()) {
      TlsTest.replace(own.resolve("cert.pem"), TlsTest.FILES.resolve("ec-cert.pem"));
      TlsTest.replace(own.resolve("key.pem"), TlsTest.FILES.resolve("ec-key-pkcs8.pem"));
      Thread.sleep(1_000);
      assertEquals(TlsTest.read(TlsTest.FILES.resolve("rsa-cert.pem")), TlsTest.served(off.port()), "the files were re-read although reload_check is 0");
      off.vertx().eventBus().request(Addresses.TLS_RELOAD, new JsonObject()).await(10, TimeUnit.SECONDS);
      assertEquals(TlsTest.read(TlsTest.FILES.resolve("ec-cert.pem")), TlsTest.served(off.port()));
    }
  }
}
