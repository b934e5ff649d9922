package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A Feishu/Lark app bot: events arrive at {@code POST /webhooks/feishu/{name}} ({@code mode:
 * webhook}) or over a long connection the gateway opens ({@code mode: long_connection}, {@link
 * FeishuLongConnectionVerticle}); answers go back as replies to the message through the OpenAPI
 * with a tenant access token.
 */
public record FeishuApp(String name, String appId, String appSecret, String verificationToken, String encryptKey,
                        String baseUrl, String offReason, Bot.RateLimit rateLimit, Bot.Retry retry, Duration timestampWindow,
                        String mode)
    implements ReplyBot.App {

  static final String WEBHOOK = "webhook";
  static final String LONG_CONNECTION = "long_connection";

  /**
   * How far {@code X-Lark-Request-Timestamp} (unix seconds) of a signed event may be from now. The
   * SDKs enforce none; without one a captured request is valid for ever.
   */
  static final Duration WINDOW = Duration.ofMinutes(5);
  /** An event is a few KB; the ingress bounds Feishu bodies at 256 KB too. */
  static final int MAX_BODY_BYTES = 256 * 1024;

  public FeishuApp(String name, String appId, String appSecret, String verificationToken, String encryptKey,
                   String baseUrl, String offReason, Bot.RateLimit rateLimit, Bot.Retry retry) {
    this(name, appId, appSecret, verificationToken, encryptKey, baseUrl, offReason, rateLimit, retry, WINDOW, WEBHOOK);
  }

  public boolean longConnection() {
    return LONG_CONNECTION.equals(mode);
  }

  static FeishuApp from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "app_id", "app_secret", "verification_token", "encrypt_key", "domain", "mode", "template",
        "rate_limit", "retry", "enabled", "allow", "reply_in_groups", "history", "timestamp_window", "skills");
    String domain = node.get("domain").string("feishu");
    String base = switch (domain) {
      case "feishu" -> "https://open.feishu.cn";
      case "lark" -> "https://open.larksuite.com";
      default -> BotConfig.url(node.get("domain"));
    };
    while (base.endsWith("/")) {
      base = base.substring(0, base.length() - 1);
    }
    String mode = node.get("mode").string("webhook");
    if (!mode.equals("webhook") && !mode.equals("long_connection")) {
      throw node.get("mode").error("expected webhook or long_connection, got '" + mode + "'");
    }
    String appId = node.get("app_id").stringIfSet("");
    String secret = node.get("app_secret").stringIfSet("");
    // over a long connection events come in plain text on a connection the app secret opened:
    // there is nothing to decrypt or check a token against
    boolean webhook = mode.equals(WEBHOOK);
    String token = webhook ? node.get("verification_token").stringIfSet("") : "";
    String encryptKey = webhook ? node.get("encrypt_key").stringIfSet("") : "";
    String off = !node.get("enabled").bool(true) ? "disabled"
        : appId.isEmpty() ? BotConfig.unset("app_id", raw)
        : secret.isEmpty() ? BotConfig.unset("app_secret", raw)
        : !webhook ? null
        // both are required although Feishu lets an app go without an encrypt key: without it events
        // come unsigned, with no timestamp to hold a replay to, and the token travels in every body
        : token.isEmpty() ? BotConfig.unset("verification_token", raw)
        : encryptKey.isEmpty() ? BotConfig.unset("encrypt_key", raw) : null;
    return new FeishuApp(node.get("name").requiredString(), appId, secret, token, encryptKey, base, off,
        // the reply API allows 5 a second to one chat
        BotConfig.rateLimit(node.get("rate_limit"), 5, java.time.Duration.ofSeconds(1)), BotConfig.retry(node.get("retry")),
        BotConfig.window(node.get("timestamp_window"), WINDOW), mode);
  }

  /** lowercase hex SHA-256 of timestamp + nonce + encrypt key + the raw body bytes. */
  String signature(String timestamp, String nonce, byte[] rawBody) {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      sha.update((timestamp + nonce + encryptKey).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(sha.digest(rawBody));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The AES-256 key: SHA-256 of the encrypt key. */
  byte[] aesKey() {
    try {
      return MessageDigest.getInstance("SHA-256").digest(encryptKey.getBytes(StandardCharsets.UTF_8));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** AES-256-CBC with {@link #aesKey()}; the first 16 bytes are the IV; PKCS#7 padding. At most {@link #MAX_BODY_BYTES}. */
  String decrypt(String encrypted) {
    if (encrypted.length() > MAX_BODY_BYTES * 4 / 3 + 4) {
      throw new IllegalArgumentException("cannot decrypt the event: the encrypted text is over " + MAX_BODY_BYTES / 1024 + " KB");
    }
    try {
      byte[] data = Base64.getDecoder().decode(encrypted);
      if (data.length < 32 || data.length % 16 != 0) {
        throw new IllegalArgumentException("not an IV and whole AES blocks");
      }
      byte[] key = aesKey();
      Cipher cipher = Cipher.getInstance("AES/CBC/PKCS5Padding");
      cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(Arrays.copyOfRange(data, 0, 16)));
      return new String(cipher.doFinal(data, 16, data.length - 16), StandardCharsets.UTF_8);
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IllegalArgumentException("cannot decrypt the event: " + e.getMessage(), e);
    }
  }
}
