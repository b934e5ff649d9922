package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import java.util.Map;
import java.util.logging.Level;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The logging section of switchboard.yaml. */
@DisplayName("Logging settings")
class LogSettingsTest {

  private static LogSettings read(Map<String, Object> logging, Map<String, String> env) {
    return LogSettings.from(ConfigNode.of("switchboard.yaml", Map.of("logging", logging)).get("logging"), env::get);
  }

  @Test
  @DisplayName("by default: text, INFO, no event lines (a terminal stays quiet)")
  void defaults() {
    LogSettings s = LogSettings.from(ConfigNode.empty("switchboard.yaml").get("logging"), n -> null);
    assertFalse(s.json());
    assertEquals(Level.INFO, s.level());
    assertFalse(s.requests());
  }

  @Test
  @DisplayName("json turns the event lines on unless requests says otherwise")
  void json() {
    assertTrue(read(Map.of("format", "json"), Map.of()).requests());
    assertFalse(read(Map.of("format", "json", "requests", false), Map.of()).requests());
    assertTrue(read(Map.of("format", "text", "requests", true), Map.of()).requests());
  }

  @Test
  @DisplayName("SWITCHBOARD_LOG_FORMAT and SWITCHBOARD_LOG_LEVEL apply when the file does not set them")
  void environment() {
    LogSettings s = read(Map.of(), Map.of("SWITCHBOARD_LOG_FORMAT", "json", "SWITCHBOARD_LOG_LEVEL", "debug"));
    assertTrue(s.json());
    assertEquals(Level.FINE, s.level());
  }

  @Test
  @DisplayName("levels by their common names: error, warn, info, debug, trace")
  void levels() {
    assertEquals(Level.SEVERE, read(Map.of("level", "error"), Map.of()).level());
    assertEquals(Level.WARNING, read(Map.of("level", "WARN"), Map.of()).level());
    assertEquals(Level.FINEST, read(Map.of("level", "trace"), Map.of()).level());
  }

  @Test
  @DisplayName("an unknown format, level or key is refused with one line naming it")
  void refused() {
    ConfigError format = assertThrows(ConfigError.class, () -> read(Map.of("format", "xml"), Map.of()));
    assertTrue(format.getMessage().contains("logging.format"), format.getMessage());
    assertTrue(format.getMessage().contains("text or json"), format.getMessage());
    ConfigError level = assertThrows(ConfigError.class, () -> read(Map.of("level", "loud"), Map.of()));
    assertTrue(level.getMessage().contains("logging.level"), level.getMessage());
    assertThrows(ConfigError.class, () -> read(Map.of("colour", true), Map.of()));
  }

  @Test
  @DisplayName("applied: the console writes JSON lines with the event lines on; text turns them off again")
  void applied() {
    java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
    Level level = root.getLevel();
    java.util.Map<java.util.logging.Handler, java.util.logging.Formatter> formatters = new java.util.HashMap<>();
    for (java.util.logging.Handler h : root.getHandlers()) {
      formatters.put(h, h.getFormatter());
    }
    try {
      read(Map.of("format", "json"), Map.of()).apply();
      assertTrue(java.util.Arrays.stream(root.getHandlers()).anyMatch(h -> h instanceof java.util.logging.ConsoleHandler
          && h.getFormatter() instanceof JsonLogFormatter));
      assertTrue(EventLog.on());
      // JSON is UTF-8 whatever the locale: under LANG=C a platform's 中文 errmsg would come out as ??
      assertTrue(java.util.Arrays.stream(root.getHandlers()).anyMatch(h -> h instanceof java.util.logging.ConsoleHandler
          && java.nio.charset.StandardCharsets.UTF_8.name().equals(h.getEncoding())));
      LogSettings.DEFAULT.apply();
      assertTrue(java.util.Arrays.stream(root.getHandlers()).anyMatch(h -> h instanceof java.util.logging.ConsoleHandler
          && h.getFormatter() instanceof TextLogFormatter));
      assertFalse(EventLog.on());
    } finally {
      root.setLevel(level);
      for (java.util.logging.Handler h : root.getHandlers()) {
        if (formatters.containsKey(h)) {
          h.setFormatter(formatters.get(h));
        } else {
          root.removeHandler(h);
        }
      }
      EventLog.enable(false);
    }
  }

  @Test
  @DisplayName("the shipped switchboard.yaml: text and quiet by default, json when SWITCHBOARD_LOG_FORMAT says so")
  void shipped() {
    java.nio.file.Path conf = java.nio.file.Path.of("conf");
    LogSettings plain = LogSettings.load(conf, n -> null);
    assertFalse(plain.json());
    assertFalse(plain.requests());
    assertEquals(Level.INFO, plain.level());
    LogSettings json = LogSettings.load(conf, Map.of("SWITCHBOARD_LOG_FORMAT", "json", "SWITCHBOARD_LOG_LEVEL", "warn")::get);
    assertTrue(json.json());
    assertTrue(json.requests());
    assertEquals(Level.WARNING, json.level());
  }
}
