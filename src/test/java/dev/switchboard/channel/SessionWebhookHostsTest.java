package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** {@code session_webhook_hosts}: where a DingTalk reply may be posted. */
@DisplayName("DingTalk session webhook hosts")
class SessionWebhookHostsTest {

  static final WebhookHosts DEFAULT = WebhookHosts.of(WebhookHosts.DEFAULT);

  @Test
  @DisplayName("by default DingTalk's own hosts over https are allowed")
  void defaults() {
    assertNull(DEFAULT.refusal("https://oapi.dingtalk.com/robot/sendBySession?session=abc"));
    assertNull(DEFAULT.refusal("https://api.dingtalk.com/v1.0/robot/x"));
    assertNull(DEFAULT.refusal("https://OAPI.DingTalk.com:443/robot/sendBySession?session=abc"));
  }

  @Test
  @DisplayName("other hosts, look-alikes, plain http, other ports and user info are refused, naming the allowed hosts")
  void refused() {
    for (String url : List.of("http://oapi.dingtalk.com/robot/sendBySession?session=abc",
        "https://oapi.dingtalk.com.evil.example/robot", "https://evil.example/?h=oapi.dingtalk.com",
        "https://oapi.dingtalk.com@evil.example/robot", "https://oapi.dingtalk.com:8443/robot",
        "https://sub.oapi.dingtalk.com/robot", "http://127.0.0.1:8080/admin", "file:///etc/passwd", "not a url", "/relative")) {
      String why = DEFAULT.refusal(url);
      assertNotNull(why, url);
      assertTrue(why.contains("session_webhook_hosts") || why.contains("sessionWebhook"), why);
    }
    assertTrue(DEFAULT.refusal("http://10.0.0.1/x").contains("oapi.dingtalk.com, api.dingtalk.com"));
  }

  @Test
  @DisplayName("an entry with a scheme allows exactly that scheme, host and port (e.g. a fake on loopback)")
  void schemedEntry() {
    WebhookHosts hosts = WebhookHosts.of(List.of("http://127.0.0.1:8080"));
    assertNull(hosts.refusal("http://127.0.0.1:8080/robot/sendBySession?session=x"));
    assertNotNull(hosts.refusal("http://127.0.0.1:8081/robot"));
    assertNotNull(hosts.refusal("https://127.0.0.1:8080/robot"));
    assertNotNull(hosts.refusal("https://oapi.dingtalk.com/robot"));
  }

  @Test
  @DisplayName("the robot entry reads session_webhook_hosts; a bad or empty one stops start-up naming the key")
  void config() {
    DingTalkApp app = DingTalkApp.from(yaml("name: a\napp_key: k\napp_secret: s\nsession_webhook_hosts: [\"oapi.dingtalk.com\"]\n"), yaml("{}"));
    assertNull(app.sessionWebhookRefusal("https://oapi.dingtalk.com/robot"));
    assertNotNull(app.sessionWebhookRefusal("https://api.dingtalk.com/robot"));
    DingTalkApp defaults = DingTalkApp.from(yaml("name: a\napp_key: k\napp_secret: s\n"), yaml("{}"));
    assertNull(defaults.sessionWebhookRefusal("https://api.dingtalk.com/robot"));
    ConfigError bad = assertThrows(ConfigError.class,
        () -> DingTalkApp.from(yaml("name: a\napp_key: k\napp_secret: s\nsession_webhook_hosts: [\"ftp://x\"]\n"), yaml("{}")));
    assertTrue(bad.getMessage().contains("x.yaml") && bad.getMessage().contains("session_webhook_hosts"), bad.getMessage());
    ConfigError empty = assertThrows(ConfigError.class,
        () -> DingTalkApp.from(yaml("name: a\napp_key: k\napp_secret: s\nsession_webhook_hosts: []\n"), yaml("{}")));
    assertTrue(empty.getMessage().contains("at least one host"), empty.getMessage());
  }

  @Test
  @DisplayName("timestamp_window on Feishu and WeCom apps defaults to 5 minutes and must be between 1s and 1d")
  void timestampWindow() {
    assertEquals(java.time.Duration.ofMinutes(5),
        WeComApp.from(yaml("name: w\ncorp_id: c\ntoken: t\nencoding_aes_key: " + "a".repeat(43) + "\n"), yaml("{}")).timestampWindow());
    assertEquals(java.time.Duration.ofMinutes(10), FeishuApp.from(
        yaml("name: f\napp_id: i\napp_secret: s\nverification_token: v\ntimestamp_window: 10m\n"), yaml("{}")).timestampWindow());
    ConfigError bad = assertThrows(ConfigError.class, () -> FeishuApp.from(
        yaml("name: f\napp_id: i\napp_secret: s\nverification_token: v\ntimestamp_window: 2d\n"), yaml("{}")));
    assertTrue(bad.getMessage().contains("timestamp_window"), bad.getMessage());
  }

  private static ConfigNode yaml(String text) {
    try {
      Path dir = Files.createTempDirectory("hosts");
      Files.writeString(dir.resolve("x.yaml"), text);
      return new ConfigFiles(dir, k -> null).load("x.yaml", true);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
