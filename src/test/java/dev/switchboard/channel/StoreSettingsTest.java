package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("channels.yaml store: how the channel component keeps its state")
class StoreSettingsTest {

  @TempDir
  Path dir;

  private ChannelSettings load(String yaml) throws IOException {
    Files.writeString(dir.resolve(ChannelSettings.FILE), yaml);
    return ChannelSettings.load(new ConfigFiles(dir, k -> null));
  }

  @Test
  @DisplayName("without a store section: prefix switchboard:, leases of 60 s, finished deliveries kept 7 days")
  void defaults() throws IOException {
    assertEquals(new StoreSettings("switchboard:", Duration.ofSeconds(60), Duration.ofDays(7)), load("webhooks: []\n").store());
  }

  @Test
  @DisplayName("every key is read")
  void read() throws IOException {
    assertEquals(new StoreSettings("team-a:", Duration.ofSeconds(20), Duration.ofDays(30)),
        load("store: { key_prefix: \"team-a:\", lease: 20s, retention: 30d }\n").store());
  }

  @Test
  @DisplayName("a bad value stops start-up with one line naming the file and the key")
  void badValues() {
    for (String[] bad : new String[][] {
        {"store: { lease: 500ms }\n", "store.lease"},
        {"store: { lease: 2h }\n", "store.lease"},
        {"store: { key_prefix: \"\" }\n", "store.key_prefix"},
        {"store: { retention: 10s }\n", "store.retention"},
        {"store: { leases: 20s }\n", "store.leases"}}) {
      ConfigError e = assertThrows(ConfigError.class, () -> load(bad[0]), bad[0]);
      assertTrue(e.getMessage().contains("channels.yaml: " + bad[1] + ": "), e.getMessage());
      assertTrue(!e.getMessage().contains("\n"), e.getMessage());
    }
  }
}
