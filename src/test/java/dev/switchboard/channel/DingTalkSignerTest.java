package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Vectors D1 and D2 of the protocol reference, byte for byte. */
@DisplayName("DingTalk 加签 matches the reference vectors")
class DingTalkSignerTest {

  static final String D1_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

  @Test
  @DisplayName("D1: Base64 form (callback header) and URL-encoded form (webhook query)")
  void d1() {
    assertEquals("8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw=", DingTalkSigner.sign(1700000000000L, D1_SECRET));
    assertEquals("https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000"
            + "&sign=8SZas7RY4E7wuOlgLfjLwHSKZpyUEdXdLvFYSDZiiFw%3D",
        DingTalkSigner.signedUrl("https://oapi.dingtalk.com/robot/send?access_token=abc", D1_SECRET, 1700000000000L));
  }

  @Test
  @DisplayName("D2: a secret with spaces, and a signature whose Base64 has '+' to escape")
  void d2() {
    assertEquals("hmPWwU+7lVdm3ZZz0r9tSfx0L4Q26jWOZr9+Gs6EZQM=", DingTalkSigner.sign(1577262236757L, "this is secret"));
    assertEquals("https://x/robot/send?access_token=t&timestamp=1577262236757&sign=hmPWwU%2B7lVdm3ZZz0r9tSfx0L4Q26jWOZr9%2BGs6EZQM%3D",
        DingTalkSigner.signedUrl("https://x/robot/send?access_token=t", "this is secret", 1577262236757L));
  }

  @Test
  @DisplayName("without a secret the webhook is used unsigned")
  void noSecret() {
    assertEquals("https://x/robot/send?access_token=t", DingTalkSigner.signedUrl("https://x/robot/send?access_token=t", "", 1L));
  }
}
