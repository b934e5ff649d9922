package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.net.URI;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reading what every bot has: URLs, rate limits, and why a bot is off. */
public final class BotConfig {

  private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)");

  private BotConfig() {
  }

  /** An http(s) URL, or empty when unset. */
  public static String url(ConfigNode node) {
    String url = node.stringIfSet("");
    if (url.isEmpty()) {
      return url;
    }
    // the value is not repeated: a robot's URL holds its token (access_token=, key=, the hook's path)
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException e) {
      throw node.error("not a URL (a space or another character a URL cannot hold?)");
    }
    if (!"https".equals(uri.getScheme()) && !"http".equals(uri.getScheme())) {
      throw node.error("expected an https:// URL, got " + (uri.getScheme() == null ? "no scheme" : "scheme '" + uri.getScheme() + "'"));
    }
    if (uri.getHost() == null) {
      throw node.error("expected an https:// URL with a host name");
    }
    return url;
  }

  public static Bot.RateLimit rateLimit(ConfigNode node, int messages, Duration per) {
    node.allowOnly("messages", "per");
    return new Bot.RateLimit(node.get("messages").integer(messages, 1, 1_000_000), node.get("per").duration(per));
  }

  /** {@code format: text | markdown}; markdown renders where the platform has it. */
  public static boolean markdown(ConfigNode node) {
    String f = node.string("text");
    if (!f.equals("text") && !f.equals("markdown")) {
      throw node.error("expected text or markdown, got '" + f + "'");
    }
    return f.equals("markdown");
  }

  public static Bot.Retry retry(ConfigNode node) {
    node.allowOnly("max_attempts", "backoff", "throttle_pause");
    return new Bot.Retry(node.get("max_attempts").integer(Bot.Retry.DEFAULT.maxAttempts(), 1, 100),
        node.get("backoff").duration(Bot.Retry.DEFAULT.backoff()), node.get("throttle_pause").duration(null));
  }

  /** A replay window ({@code timestamp_window}): at least a second, at most a day. */
  public static Duration window(ConfigNode node, Duration fallback) {
    Duration d = node.duration(fallback);
    if (d.compareTo(Duration.ofSeconds(1)) < 0 || d.compareTo(Duration.ofDays(1)) > 0) {
      throw node.error("expected a duration between 1s and 1d, got '" + node.string("") + "'");
    }
    return d;
  }

  /** "webhook unset (DINGTALK_WEBHOOK)": the setting and the variables behind it in the file as written. */
  public static String unset(String key, ConfigNode raw) {
    Matcher m = VAR.matcher(raw.get(key).string(""));
    StringBuilder vars = new StringBuilder();
    while (m.find()) {
      vars.append(vars.length() == 0 ? "" : ", ").append(m.group(1));
    }
    return key + " unset" + (vars.length() == 0 ? "" : " (" + vars + ")");
  }
}
