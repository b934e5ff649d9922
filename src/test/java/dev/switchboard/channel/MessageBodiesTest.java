package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Platform message bodies")
class MessageBodiesTest {

  @Test
  @DisplayName("a markdown title is the first line without its markdown marks, at most 64 characters")
  void titles() {
    assertEquals("日报", Texts.title("## 日报\n- 完成", "x"));
    assertEquals("Build failed", Texts.title("\n\n> **Build failed**", "x"));
    assertEquals("x", Texts.title("  \n###\n", "x"));
    assertEquals(64, Texts.title("a".repeat(100), "x").length());
  }

  @Test
  @DisplayName("Feishu markdown is an interactive card object with a lark_md block, signed like text")
  void feishuCard() {
    FeishuBot bot = new FeishuBot("alerts", "https://x/hook", "demo-secret", "{result}", null,
        new Bot.RateLimit(100, Duration.ofMinutes(1)), Bot.Retry.DEFAULT, true);
    JsonObject body = bot.textMessage("# 告警\n**CPU** 95%", 1599360473000L);
    assertEquals("1599360473", body.getString("timestamp"));
    assertEquals("3/MaVZ8JLIy4TUG+7KSFJqvUkTKd+HWY8g+56DZWq8s=", body.getString("sign"));
    assertEquals("interactive", body.getString("msg_type"));
    JsonObject card = body.getJsonObject("card");
    assertEquals("告警", card.getJsonObject("header").getJsonObject("title").getString("content"));
    JsonObject block = card.getJsonArray("elements").getJsonObject(0).getJsonObject("text");
    assertEquals("lark_md", block.getString("tag"));
    assertEquals("# 告警\n**CPU** 95%", block.getString("content"));
  }
}
