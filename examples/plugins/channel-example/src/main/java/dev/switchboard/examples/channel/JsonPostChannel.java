package dev.switchboard.examples.channel;

import dev.switchboard.channel.Bot;
import dev.switchboard.channel.BotConfig;
import dev.switchboard.channel.ChannelProvider;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;

/**
 * Channel {@code jsonpost}: section {@code jsonpost} of channels.yaml, entries {@code {name, url}};
 * each message is POSTed as {@code {"text", "delivery"}} and a 2xx answer counts as delivered, a 5xx
 * is tried again. The smallest useful channel: a template for Slack, Telegram, ntfy and friends.
 */
public final class JsonPostChannel implements ChannelProvider {

  @Override
  public String channel() {
    return "jsonpost";
  }

  @Override
  public String section() {
    return "jsonpost";
  }

  @Override
  public Bot pushBot(ConfigNode entry, ConfigNode raw) {
    entry.allowOnly("name", "url", "rate_limit", "retry");
    String name = entry.get("name").requiredString();
    String url = BotConfig.url(entry.get("url"));
    String off = url.isEmpty() ? BotConfig.unset("url", raw) : null;
    Bot.RateLimit limit = BotConfig.rateLimit(entry.get("rate_limit"), 60, Duration.ofMinutes(1));
    Bot.Retry retry = BotConfig.retry(entry.get("retry"));
    return new Bot() {
      @Override
      public String channel() {
        return "jsonpost";
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
        return limit;
      }

      @Override
      public Retry retry() {
        return retry;
      }

      @Override
      public Duration platformThrottlePause() {
        return Duration.ofSeconds(1);
      }

      @Override
      public Request request(String text, String deliveryId, long nowMillis) {
        return new Request(url, Map.of("Content-Type", "application/json"),
            new JsonObject().put("text", text).put("delivery", deliveryId).toBuffer());
      }

      @Override
      public Answer read(int httpStatus, String body) {
        Verdict verdict = httpStatus / 100 == 2 ? Verdict.DELIVERED : httpStatus >= 500 ? Verdict.RETRY : Verdict.FAILED;
        return new Answer(verdict, new JsonObject().put("http_status", httpStatus));
      }
    };
  }
}
