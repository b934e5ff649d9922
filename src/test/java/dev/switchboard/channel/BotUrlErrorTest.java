package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertFalse;
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

/** A robot's webhook URL is its credential (access_token, key, hook id): a refused one is not repeated. */
@DisplayName("A bot URL that is refused")
class BotUrlErrorTest {

  static final String TOKEN = "0123456789abcdefSECRETTOKEN";

  @Test
  @DisplayName("is named by its key, and neither its token in the query nor in the path is echoed")
  void notEchoed() {
    for (String url : List.of("ftp://oapi.dingtalk.com/robot/send?access_token=" + TOKEN,
        "https://oapi.dingtalk.com/robot/send?access_token=" + TOKEN + " pasted twice",
        "htps://open.feishu.cn/open-apis/bot/v2/hook/" + TOKEN,
        "https://user:" + TOKEN + "@/robot")) {
      ConfigError e = assertThrows(ConfigError.class, () -> BotConfig.url(yaml("webhook: \"" + url + "\"\n").get("webhook")));
      assertTrue(e.getMessage().contains("webhook"), e.getMessage());
      assertFalse(e.getMessage().contains(TOKEN), e.getMessage());
    }
  }

  private static ConfigNode yaml(String text) {
    try {
      Path dir = Files.createTempDirectory("boturl");
      Files.writeString(dir.resolve("channels.yaml"), text);
      return new ConfigFiles(dir, k -> null).load("channels.yaml", true);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
