package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.Settings;
import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code mcp.servers} in switchboard.yaml: what is accepted, and the one line a bad entry gets at start-up. */
class McpSettingsTest {

  private static McpSettings parse(Object servers) {
    return McpSettings.from(ConfigNode.of("switchboard.yaml", Map.of("mcp", Map.of("servers", servers))).get("mcp"));
  }

  private static ConfigError refused(Object servers) {
    return assertThrows(ConfigError.class, () -> parse(servers));
  }

  @Test
  void aCommandServerKeepsItsArgsAndEnvAndGetsTheDefaultTimeouts() {
    McpSettings.Server s = parse(List.of(Map.of("name", "files", "command", "node",
        "args", List.of("index.js", "/tmp"), "env", Map.of("LOG", "warn")))).servers().get(0);
    assertEquals("files", s.name());
    assertTrue(s.stdio());
    assertEquals("node", s.command());
    assertEquals(List.of("index.js", "/tmp"), s.args());
    assertEquals(Map.of("LOG", "warn"), s.env());
    assertNull(s.url());
    assertEquals(Duration.ofSeconds(30), s.timeout());
    assertEquals(Duration.ofSeconds(15), s.pingInterval());
  }

  @Test
  void aUrlServerKeepsItsHeadersAndTimeouts() {
    McpSettings.Server s = parse(List.of(Map.of("name", "search", "url", "https://mcp.example.com/mcp",
        "headers", Map.of("Authorization", "Bearer x"), "timeout", "5s", "ping_interval", "2s"))).servers().get(0);
    assertFalse(s.stdio());
    assertEquals("https://mcp.example.com/mcp", s.url());
    assertEquals(Map.of("Authorization", "Bearer x"), s.headers());
    assertEquals(Duration.ofSeconds(5), s.timeout());
    assertEquals(Duration.ofSeconds(2), s.pingInterval());
    assertEquals("url https://mcp.example.com/mcp", s.describe(), "the log line never shows the headers");
  }

  @Test
  void withoutTheSectionThereAreNoServers() {
    assertEquals(List.of(), McpSettings.from(ConfigNode.empty("switchboard.yaml").get("mcp")).servers());
  }

  @Test
  void aServerWithoutANameIsRefusedNamingTheKey() {
    ConfigError e = refused(List.of(Map.of("command", "node")));
    assertEquals("mcp.servers[0].name", e.key());
    assertTrue(e.problem().contains("required"), e.getMessage());
  }

  @Test
  void aNameWithOtherCharactersIsRefused() {
    ConfigError e = refused(List.of(Map.of("name", "my files", "command", "node")));
    assertEquals("mcp.servers[0].name", e.key());
    assertTrue(e.problem().contains("letters, digits, _ or -"), e.getMessage());
  }

  @Test
  void aNameWithTwoUnderscoresTogetherIsRefusedBecauseSkillNamesSplitThere() {
    ConfigError e = refused(List.of(Map.of("name", "my__files", "command", "node")));
    assertEquals("mcp.servers[0].name", e.key());
    assertEquals("'my__files' must not contain __ nor end in _ (its skills are named <server>__<tool>, split at the first __)",
        e.problem());
  }

  @Test
  void aNameEndingInAnUnderscoreIsRefused() {
    ConfigError e = refused(List.of(Map.of("name", "files_", "url", "http://x/mcp")));
    assertEquals("mcp.servers[0].name", e.key());
    assertTrue(e.problem().contains("nor end in _"), e.getMessage());
  }

  @Test
  void singleUnderscoresAndDashesInsideANameAreAccepted() {
    assertEquals("my_files-2", parse(List.of(Map.of("name", "my_files-2", "command", "node"))).servers().get(0).name());
    assertEquals("_x", parse(List.of(Map.of("name", "_x", "command", "node"))).servers().get(0).name());
  }

  @Test
  void twoServersWithOneNameAreRefusedAtTheSecond() {
    ConfigError e = refused(List.of(Map.of("name", "a", "command", "node"), Map.of("name", "a", "url", "http://x/mcp")));
    assertEquals("mcp.servers[1].name", e.key());
    assertTrue(e.problem().contains("unique"), e.getMessage());
  }

  @Test
  void bothCommandAndUrlAreRefused() {
    ConfigError e = refused(List.of(Map.of("name", "a", "command", "node", "url", "http://x/mcp")));
    assertEquals("mcp.servers[0]", e.key());
    assertTrue(e.problem().contains("exactly one of command"), e.getMessage());
  }

  @Test
  void neitherCommandNorUrlIsRefused() {
    ConfigError e = refused(List.of(Map.of("name", "a")));
    assertTrue(e.problem().contains("exactly one of command"), e.getMessage());
  }

  @Test
  void aUrlThatIsNotHttpIsRefused() {
    for (String url : List.of("ftp://x/mcp", "localhost:3001/mcp", "http:///mcp", "http://bad host/")) {
      ConfigError e = refused(List.of(Map.of("name", "a", "url", url)));
      assertEquals("mcp.servers[0].url", e.key(), url);
    }
  }

  @Test
  void argsThatAreNotAListOfStringsAreRefused() {
    assertEquals("mcp.servers[0].args", refused(List.of(Map.of("name", "a", "command", "node", "args", "x.js"))).key());
    assertEquals("mcp.servers[0].args[1]",
        refused(List.of(Map.of("name", "a", "command", "node", "args", List.of("x.js", Map.of("k", "v"))))).key());
  }

  @Test
  void envAndHeadersMustBeMappingsOfStrings() {
    assertEquals("mcp.servers[0].env", refused(List.of(Map.of("name", "a", "command", "node", "env", List.of("A=1")))).key());
    assertEquals("mcp.servers[0].headers.X",
        refused(List.of(Map.of("name", "a", "url", "http://x/mcp", "headers", Map.of("X", List.of("1", "2"))))).key());
  }

  @Test
  void aHeaderTheHttpClientSetsItselfIsRefused() {
    ConfigError e = refused(List.of(Map.of("name", "a", "url", "http://x/mcp", "headers", Map.of("Host", "y"))));
    assertEquals("mcp.servers[0].headers.Host", e.key());
  }

  @Test
  void keysOfTheOtherKindOfServerAreRefused() {
    assertEquals("mcp.servers[0].headers",
        refused(List.of(Map.of("name", "a", "command", "node", "headers", Map.of("X", "1")))).key());
    assertEquals("mcp.servers[0].env", refused(List.of(Map.of("name", "a", "url", "http://x/mcp", "env", Map.of("X", "1")))).key());
  }

  @Test
  void anUnknownKeyIsRefused() {
    assertEquals("mcp.servers[0].cmd", refused(List.of(Map.of("name", "a", "cmd", "node"))).key());
  }

  @Test
  void aZeroTimeoutIsRefused() {
    assertEquals("mcp.servers[0].timeout", refused(List.of(Map.of("name", "a", "command", "node", "timeout", "0s"))).key());
  }

  @Test
  void theShippedFileConfiguresNoServersAndABadOneStopsStartUpWithTheFileAndKey() throws Exception {
    assertEquals(List.of(), Settings.load(Path.of("conf"), name -> null).mcp().servers());
    Path conf = Files.createTempDirectory("mcp-settings");
    try {
      Files.writeString(conf.resolve("switchboard.yaml"), "mcp:\n  servers:\n    - { name: a, url: \"ftp://x\" }\n");
      ConfigError e = assertThrows(ConfigError.class, () -> Settings.load(conf, name -> null));
      assertTrue(e.getMessage().endsWith("switchboard.yaml: mcp.servers[0].url: 'ftp://x' is not an http:// or https:// URL with a host"), e.getMessage());
    } finally {
      try (var files = Files.walk(conf)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
