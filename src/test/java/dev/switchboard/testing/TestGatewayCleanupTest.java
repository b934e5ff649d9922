package dev.switchboard.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("TestGateway cleans up after itself")
class TestGatewayCleanupTest {

  @Test
  @DisplayName("close deletes the data dir (and the conf dir next to it) it made")
  void closeDeletes() {
    Path data;
    try (TestGateway gateway = TestGateway.builder().start()) {
      data = gateway.dataDir();
      assertTrue(Files.isDirectory(data));
    }
    assertFalse(Files.exists(data), data + " is left behind");
  }

  @Test
  @DisplayName("restart and restartWith keep the data dir and what is in it")
  void restartKeepsData() throws Exception {
    try (TestGateway gateway = TestGateway.builder().start()) {
      Path marker = gateway.dataDir().resolve("marker");
      Files.writeString(marker, "kept");
      gateway.restart();
      gateway.restartWith("model_provider.yaml", Files.readString(Path.of("conf", "model_provider.yaml")));
      assertEquals("kept", Files.readString(marker));
    }
  }
}
