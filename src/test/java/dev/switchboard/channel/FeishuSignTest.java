package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Vectors F1, F2 and F1-wrong of the protocol reference. */
@DisplayName("Feishu custom-bot signing matches the reference vectors")
class FeishuSignTest {

  @Test
  @DisplayName("F1 and F2: the key is timestamp + \\n + secret, the message is empty")
  void vectors() {
    assertEquals("3/MaVZ8JLIy4TUG+7KSFJqvUkTKd+HWY8g+56DZWq8s=", FeishuBot.sign(1599360473L, "demo-secret"));
    assertEquals("+CsPf/cn9yvjROlDcIP1dgs/z9QvF+OXzb0IapdeeYc=", FeishuBot.sign(1700000000L, "qu5bYw3KP1tCkgDsM2aXFb"));
  }

  @Test
  @DisplayName("F1-wrong: DingTalk's algorithm gives a different value, which Feishu would refuse")
  void notDingTalks() {
    String dingTalkStyle = DingTalkSigner.sign(1599360473L, "demo-secret");
    assertEquals("+y4hoW+2wrJQJ+Ccwm+K1OKBY3kTQ7fsX6PjcCKo06U=", dingTalkStyle);
    assertNotEquals(dingTalkStyle, FeishuBot.sign(1599360473L, "demo-secret"));
  }

  @Test
  @DisplayName("texts are cut to the platform's byte limit on a character boundary")
  void fitsUtf8Limits() {
    String chinese = "汉".repeat(1000); // 3000 bytes
    String fitted = Texts.fit(chinese, 2048);
    assertEquals(true, fitted.getBytes(java.nio.charset.StandardCharsets.UTF_8).length <= 2048);
    assertEquals(true, fitted.endsWith("…"));
    assertEquals("short", Texts.fit("short", 2048));
  }
}
