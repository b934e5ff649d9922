package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.Settings;
import dev.switchboard.config.ConfigError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("A configured URL on an internal address stops start-up until one line allows it")
class OutboundConfigTest {

  private static final String COMMENTED = "    # allow: [\"127.0.0.1\", \"::1\", \"localhost\"]";

  private static Map<String, String> env(String endpoint) {
    Map<String, String> env = new HashMap<>();
    env.put("MODEL_ENDPOINT", endpoint);
    env.put("MODEL_API_KEY", "sk-1");
    return env;
  }

  private static void copyShipped(Path dir) throws Exception {
    for (String name : new String[] {"switchboard.yaml", "model_provider.yaml", "channels.yaml"}) {
      Files.copy(Path.of("conf", name), dir.resolve(name));
    }
  }

  @Test
  void aProviderOnLoopbackIsRefusedNamingTheKeyAndTheLineToAdd(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(dir, env("http://127.0.0.1:8000/v1")::get));
    assertTrue(e.file().endsWith("model_provider.yaml"), e.file());
    assertEquals("providers[0].endpoint", e.key());
    assertTrue(e.problem().contains("127.0.0.1 is an internal address (loopback)"), e.problem());
    assertTrue(e.problem().contains("add `allow: [\"127.0.0.1\"]` under security.outbound in switchboard.yaml"), e.problem());
  }

  @Test
  void theShippedCommentedAllowLineUncommentedLetsALocalProviderStart(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    String shipped = Files.readString(dir.resolve("switchboard.yaml"));
    assertTrue(shipped.contains(COMMENTED + "\n"), "the shipped file has the commented line");
    Files.writeString(dir.resolve("switchboard.yaml"), shipped.replace(COMMENTED, COMMENTED.replace("# ", "")));
    Settings s = Settings.load(dir, env("http://127.0.0.1:8000/v1")::get);
    assertTrue(s.models().summary().contains("default (http://127.0.0.1:8000)"), s.models().summary());
  }

  @Test
  void theEnvironmentVariableAllowsALocalProvider(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    Map<String, String> env = env("http://[::1]:11434/v1");
    env.put(OutboundGuard.ENV, "::1");
    Settings s = Settings.load(dir, env::get);
    assertTrue(s.outbound().allowsHost("[::1]"));
  }

  @Test
  void aPrivateAddressNeedsItsOwnEntry(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    Map<String, String> env = env("http://10.0.0.1:8000/v1");
    env.put(OutboundGuard.ENV, "127.0.0.1");
    ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(dir, env::get));
    assertTrue(e.problem().contains("(private)"), e.problem());
    env.put(OutboundGuard.ENV, "127.0.0.1,10.0.0.0/8");
    Settings.load(dir, env::get);
  }

  @Test
  void anOutboundWebhookOnTheMetadataAddressIsRefused(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    Files.writeString(dir.resolve("channels.yaml"), """
        webhooks:
          - name: "erp"
            url: "http://169.254.169.254/latest/meta-data/"
            secret: "s3cret"
        """);
    ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(dir, env("https://8.8.8.8/v1")::get));
    assertTrue(e.file().endsWith("channels.yaml"), e.file());
    assertEquals("webhooks[0].url", e.key());
    assertTrue(e.problem().contains("(link-local)"), e.problem());
  }

  @Test
  void anMcpServerOnAPrivateAddressIsRefused(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    String shipped = Files.readString(dir.resolve("switchboard.yaml"));
    Files.writeString(dir.resolve("switchboard.yaml"), shipped.replace("  servers: []\n",
        "  servers:\n    - name: search\n      url: \"http://192.168.1.20:3000/mcp\"\n"));
    ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(dir, env("https://8.8.8.8/v1")::get));
    assertTrue(e.file().endsWith("switchboard.yaml"), e.file());
    assertEquals("mcp.servers[0].url", e.key());
  }

  @Test
  void aBadAllowEntryStopsStartUpNamingTheKey(@TempDir Path dir) throws Exception {
    copyShipped(dir);
    String shipped = Files.readString(dir.resolve("switchboard.yaml"));
    Files.writeString(dir.resolve("switchboard.yaml"), shipped.replace(COMMENTED, "    allow: [\"http://127.0.0.1:8000\"]"));
    ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(dir, env("https://8.8.8.8/v1")::get));
    assertEquals("security.outbound.allow", e.key());
  }
}
