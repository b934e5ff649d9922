package dev.switchboard.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.Settings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

@DisplayName("Configuration loading")
class SettingsTest {

  private static Settings load(Path dir, Map<String, String> env) {
    return Settings.load(dir, env::get);
  }

  private static Path confWith(Path dir, String file, String yaml) throws Exception {
    for (String name : new String[] {"switchboard.yaml", "model_provider.yaml", "channels.yaml"}) {
      Files.copy(Path.of("conf", name), dir.resolve(name));
    }
    if (file != null) {
      Files.writeString(dir.resolve(file), yaml);
    }
    return dir;
  }

  @Test
  @DisplayName("the shipped files load with no environment: embedded, 127.0.0.1:18789, provider and bot off")
  void shippedDefaults(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, null, null), Map.of());
    assertEquals("127.0.0.1", s.server().host());
    assertEquals(18789, s.server().port());
    assertEquals("embedded", s.storageProfile());
    assertEquals(Path.of("./data"), s.dataDir());
    assertFalse(s.models().anyEnabled());
    assertTrue(s.models().howToEnable().contains("MODEL_ENDPOINT"));
    assertFalse(s.channels().dingtalk("default").orElseThrow().enabled());
  }

  @Test
  @DisplayName("${VAR} and ${VAR:-default} are substituted; the environment moves the listener and data dir")
  void environment(@TempDir Path dir) throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("SWITCHBOARD_HTTP_HOST", "0.0.0.0");
    env.put("SWITCHBOARD_HTTP_PORT", "9000");
    env.put("SWITCHBOARD_DATA_DIR", "/var/lib/switchboard");
    env.put("MODEL_ENDPOINT", "https://api.deepseek.com/v1/");
    env.put("MODEL_API_KEY", "sk-1");
    env.put("DINGTALK_WEBHOOK", "https://oapi.dingtalk.com/robot/send?access_token=abc");
    env.put("DINGTALK_SECRET", "SECabc");
    Settings s = load(confWith(dir, null, null), env);
    assertEquals("0.0.0.0", s.server().host());
    assertEquals(9000, s.server().port());
    assertEquals(Path.of("/var/lib/switchboard"), s.dataDir());
    var p = s.models().providers().get(0);
    assertEquals("https://api.deepseek.com/v1", p.endpoint());
    assertEquals(java.util.List.of("sk-1"), p.keys());
    assertEquals(Duration.ofSeconds(120), p.totalTimeout());
    assertTrue(s.channels().dingtalk("default").orElseThrow().enabled());
  }

  @Test
  @DisplayName("an unset ${VAR} without a default stops start-up naming file, key and variable")
  void unsetVariableIsAnError(@TempDir Path dir) throws Exception {
    confWith(dir, "switchboard.yaml", "server:\n  port: ${MY_PORT}\n");
    ConfigError e = assertThrows(ConfigError.class, () -> load(dir, Map.of()));
    assertEquals("server.port", e.key());
    assertTrue(e.getMessage().contains("switchboard.yaml: server.port: environment variable MY_PORT is not set"), e.getMessage());

    Files.writeString(dir.resolve("switchboard.yaml"), "security:\n  jwt_secret: \"${JWT_SECRET_TYPO}\"\n");
    e = assertThrows(ConfigError.class, () -> load(dir, Map.of()));
    assertEquals("security.jwt_secret", e.key());
    assertTrue(e.getMessage().contains("JWT_SECRET_TYPO"), e.getMessage());
  }

  @Test
  @DisplayName("a variable set to the empty string counts as unset; ${VAR:-} makes a key optional")
  void emptyVariableAndExplicitDefault(@TempDir Path dir) throws Exception {
    confWith(dir, "switchboard.yaml", "storage:\n  data_dir: \"${MY_DATA}\"\n");
    assertThrows(ConfigError.class, () -> load(dir, Map.of("MY_DATA", "")));
    Files.writeString(dir.resolve("switchboard.yaml"), "storage:\n  data_dir: \"${MY_DATA:-}\"\n");
    assertEquals(Path.of("./data"), load(dir, Map.of()).dataDir());
  }

  @Test
  @DisplayName("an unset bot credential turns that bot off and names the variable instead of failing start-up")
  void unsetBotCredentialTurnsTheBotOff(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, null, null), Map.of("DINGTALK_WEBHOOK", "https://oapi.dingtalk.com/robot/send?access_token=abc"));
    String off = s.channels().dingtalk("default").orElseThrow().offReason();
    assertTrue(off.contains("DINGTALK_SECRET"), off);
    assertTrue(s.channels().summary().contains("DINGTALK_SECRET"), s.channels().summary());
  }

  @Test
  @DisplayName("a duration too large to hold is a bad duration, not a crash")
  void hugeDuration(@TempDir Path dir) throws Exception {
    confWith(dir, "switchboard.yaml", "queue:\n  task_timeout: 99999999999999999999s\n");
    ConfigError e = assertThrows(ConfigError.class, () -> load(dir, Map.of()));
    assertEquals("queue.task_timeout", e.key());
    assertTrue(e.getMessage().contains("expected a duration"), e.getMessage());
  }

  @Test
  @DisplayName("a bad value stops start-up with one line naming file, key and problem")
  void badValue(@TempDir Path dir) throws Exception {
    confWith(dir, "switchboard.yaml", "server:\n  port: ${PORT:-eighty}\n");
    ConfigError e = assertThrows(ConfigError.class, () -> load(dir, Map.of()));
    assertEquals("server.port", e.key());
    assertTrue(e.getMessage().contains("switchboard.yaml: server.port: "), e.getMessage());
    assertTrue(e.getMessage().contains("expected a whole number, got 'eighty'"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"));
  }

  @Test
  @DisplayName("a misspelt key is refused rather than ignored")
  void unknownKey(@TempDir Path dir) throws Exception {
    confWith(dir, "model_provider.yaml", "providers:\n  - name: a\n    endpoint: http://x/v1\n    timeout: { total: 5s }\n");
    ConfigError e = assertThrows(ConfigError.class, () -> load(dir, Map.of()));
    assertEquals("providers[0].timeout", e.key());
    assertTrue(e.getMessage().contains("model_provider.yaml"), e.getMessage());
  }

  @Test
  @DisplayName("a bad duration, endpoint or YAML syntax names where it is")
  void otherProblems(@TempDir Path dir) throws Exception {
    confWith(dir, "model_provider.yaml", "providers:\n  - name: a\n    endpoint: http://x/v1\n    timeouts: { total: 5 minutes }\n");
    assertEquals("providers[0].timeouts.total", assertThrows(ConfigError.class, () -> load(dir, Map.of())).key());
    Files.writeString(dir.resolve("model_provider.yaml"), "providers:\n  - name: a\n    endpoint: ftp://x\n");
    assertEquals("providers[0].endpoint", assertThrows(ConfigError.class, () -> load(dir, Map.of())).key());
    Files.copy(Path.of("conf", "model_provider.yaml"), dir.resolve("model_provider.yaml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    Files.writeString(dir.resolve("channels.yaml"), "dingtalk:\n  - name: [oops\n");
    ConfigError yaml = assertThrows(ConfigError.class, () -> load(dir, Map.of()));
    assertTrue(yaml.key().startsWith("line "), yaml.getMessage());
  }

  @Test
  @DisplayName("a secret containing YAML syntax is substituted as a plain value")
  void secretsStayValues(@TempDir Path dir) throws Exception {
    Map<String, String> env = Map.of("DINGTALK_WEBHOOK", "https://x/robot/send?access_token=a", "DINGTALK_SECRET", "SEC#1: {not yaml}");
    Settings s = load(confWith(dir, null, null), env);
    assertEquals("SEC#1: {not yaml}", s.channels().dingtalk("default").orElseThrow().secret());
  }

  @Test
  @DisplayName("a DingTalk bot stays off until both webhook and secret are set")
  void botNeedsBoth(@TempDir Path dir) throws Exception {
    confWith(dir, null, null);
    assertFalse(load(dir, Map.of("DINGTALK_WEBHOOK", "https://x/robot/send?access_token=a")).channels().dingtalk("default").orElseThrow().enabled());
    assertTrue(load(dir, Map.of("DINGTALK_WEBHOOK", "https://x/robot/send?access_token=a", "DINGTALK_SECRET", "SECx"))
        .channels().dingtalk("default").orElseThrow().enabled());
  }

  @Test
  @DisplayName("a value substituted from the environment may itself contain '${'")
  void dollarBraceInSecret(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, null, null), Map.of("DINGTALK_WEBHOOK", "https://x/robot/send?access_token=a",
        "DINGTALK_SECRET", "SEC${weird"));
    assertEquals("SEC${weird", s.channels().dingtalk("default").orElseThrow().secret());
  }

  @Test
  @DisplayName("an unknown storage profile is refused, naming the key")
  void unknownProfile(@TempDir Path dir) throws Exception {
    ConfigError e = assertThrows(ConfigError.class, () -> load(confWith(dir, null, null), Map.of("SWITCHBOARD_STORAGE", "cluster")));
    assertEquals("storage.profile", e.key());
  }

  @Test
  @DisplayName("the distributed profile takes its Redis and PostgreSQL from REDIS_URL and DATABASE_URL")
  void distributedProfile(@TempDir Path dir) throws Exception {
    var settings = load(confWith(dir, null, null), Map.of("SWITCHBOARD_STORAGE", "distributed",
        "REDIS_URL", "redis://10.0.0.5:6379", "DATABASE_URL", "postgresql://sb@10.0.0.6:5432/sb"));
    assertEquals("distributed", settings.storageProfile());
    assertEquals("redis://10.0.0.5:6379", settings.storage().redisUrl());
    assertEquals("postgresql://sb@10.0.0.6:5432/sb", settings.storage().postgresUrl());
  }

  /** Inbound apps whose checking material is written as variables, for the tests below. */
  static final String APPS = """
      feishu:
        - name: "assistant"
          app_id: "cli_x"
          app_secret: "s"
          verification_token: "${FEISHU_VERIFICATION_TOKEN}"
          encrypt_key: "${FEISHU_ENCRYPT_KEY}"
      dingtalk:
        - name: "helper"
          app_key: "${DINGTALK_APP_KEY}"
          app_secret: "s"
          robot_code: "${DINGTALK_ROBOT_CODE}"
          mode: "callback"
      """;

  @Test
  @DisplayName("a Feishu app without its encrypt key is off and says which variable: its events could not be signed")
  void feishuAppNeedsEncryptKey(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, "channels.yaml", APPS), Map.of("FEISHU_VERIFICATION_TOKEN", "v", "DINGTALK_APP_KEY", "k"));
    String off = s.channels().feishuApps().get("assistant").offReason();
    assertEquals("encrypt_key unset (FEISHU_ENCRYPT_KEY)", off);
    assertTrue(s.channels().summary().contains("feishu/assistant (events, off: encrypt_key unset (FEISHU_ENCRYPT_KEY))"),
        s.channels().summary());
  }

  @Test
  @DisplayName("a Feishu app without its verification token is off and says which variable")
  void feishuAppNeedsVerificationToken(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, "channels.yaml", APPS), Map.of("FEISHU_ENCRYPT_KEY", "k", "DINGTALK_APP_KEY", "k"));
    assertEquals("verification_token unset (FEISHU_VERIFICATION_TOKEN)", s.channels().feishuApps().get("assistant").offReason());
  }

  @Test
  @DisplayName("a Feishu app with both its encrypt key and its verification token is on")
  void feishuAppWithBothIsOn(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, "channels.yaml", APPS),
        Map.of("FEISHU_ENCRYPT_KEY", "k", "FEISHU_VERIFICATION_TOKEN", "v", "DINGTALK_APP_KEY", "k"));
    assertEquals(null, s.channels().feishuApps().get("assistant").offReason());
  }

  @Test
  @DisplayName("a DingTalk app robot without its app key is off in callback mode too, and says which variable")
  void dingtalkAppNeedsAppKey(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, "channels.yaml", APPS), Map.of());
    assertEquals("app_key unset (DINGTALK_APP_KEY)", s.channels().dingtalkApps().get("helper").offReason());
  }

  @Test
  @DisplayName("a DingTalk app robot without its robot code runs with its app key as the code, and the start-up line says so")
  void dingtalkRobotCodeFallsBackToAppKey(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, "channels.yaml", APPS), Map.of("DINGTALK_APP_KEY", "k"));
    assertEquals(null, s.channels().dingtalkApps().get("helper").offReason());
    assertTrue(s.channels().summary().contains("dingtalk/helper (callback, robot_code unset (DINGTALK_ROBOT_CODE): app_key used)"),
        s.channels().summary());
  }

  @Test
  @DisplayName("the Feishu custom bot without its secret pushes unsigned, and the start-up line says so and names the variable")
  void feishuBotUnsignedIsNamed(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, null, null), Map.of("FEISHU_WEBHOOK", "https://open.feishu.cn/open-apis/bot/v2/hook/x"));
    assertEquals(null, s.channels().bot("feishu", "alerts").orElseThrow().offReason());
    assertTrue(s.channels().summary().contains("feishu/alerts (unsigned: secret unset (FEISHU_SECRET))"), s.channels().summary());
    Settings signed = load(dir, Map.of("FEISHU_WEBHOOK", "https://open.feishu.cn/open-apis/bot/v2/hook/x", "FEISHU_SECRET", "s"));
    assertTrue(signed.channels().summary().contains("feishu/alerts,") || signed.channels().summary().endsWith("feishu/alerts"),
        signed.channels().summary());
  }

  @Test
  @DisplayName("an inbound hook whose secret is unset is off, and the start-up line names the variable")
  void inboundHookOffNamesVariable(@TempDir Path dir) throws Exception {
    Settings s = load(confWith(dir, null, null), Map.of());
    assertTrue(s.channels().summary().contains("hooks/ci (inbound, off: secret unset (CI_HOOK_SECRET))"), s.channels().summary());
    assertTrue(load(dir, Map.of("CI_HOOK_SECRET", "s")).channels().summary().contains("hooks/ci (inbound)"));
  }
}
