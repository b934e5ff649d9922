package dev.switchboard.plugin;

import dev.switchboard.channel.Bot;
import dev.switchboard.channel.BotConfig;
import dev.switchboard.channel.ChannelProvider;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/**
 * A channel from outside the gateway's own code, found through the SPI like a plug-in jar would be:
 * section {@code echo} of channels.yaml, entries {@code {name, url}}, each push a JSON POST.
 */
public final class EchoChannelProvider implements ChannelProvider {

  @Override
  public String channel() {
    return "echo";
  }

  @Override
  public String section() {
    return "echo";
  }

  @Override
  public Bot pushBot(ConfigNode entry, ConfigNode raw) {
    entry.allowOnly("name", "url");
    String name = entry.get("name").requiredString();
    String url = BotConfig.url(entry.get("url"));
    String off = url.isEmpty() ? BotConfig.unset("url", raw) : null;
    return new Bot() {
      @Override
      public String channel() {
        return "echo";
      }

      @Override
      public String name() {
        return name;
      }

      @Override
      public String offReason() {
        return off;
      }

      @Override
      public RateLimit rateLimit() {
        return new RateLimit(100, Duration.ofSeconds(1));
      }

      @Override
      public Retry retry() {
        return new Retry(2, Duration.ofMillis(10), null);
      }

      @Override
      public Duration platformThrottlePause() {
        return Duration.ofSeconds(1);
      }

      @Override
      public Request request(String text, String deliveryId, long nowMillis) {
        return new Request(url, Map.of("Content-Type", "application/json"), new JsonObject().put("said", text).toBuffer());
      }

      @Override
      public Answer read(int httpStatus, String body) {
        return new Answer(httpStatus == 200 ? Verdict.DELIVERED : Verdict.FAILED, new JsonObject().put("http_status", httpStatus));
      }
    };
  }
}
