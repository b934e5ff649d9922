package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.nio.ByteBuffer;
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
 * A WeCom (企业微信) app: its callback (URL verification and message decryption) and, with the
 * app's {@code secret} and {@code agent_id}, replies through {@code message/send} ({@link
 * WeComReplyBot}). The AES key is the Base64 of the 43-character EncodingAESKey plus "="; the IV
 * is its first 16 bytes; plaintext is random(16) | length (4, big-endian) | message | receive id,
 * padded to 32-byte blocks, which Java's PKCS5 padding cannot undo, hence NoPadding and our own
 * unpadding.
 *
 * @param replyOff null when replies can be sent; else why not (secret or agent id unset), which
 *     leaves the callback on
 */
public record WeComApp(String name, String corpId, String token, String encodingAesKey, String offReason,
                       Duration timestampWindow, String secret, long agentId, String apiBase, String replyOff,
                       Bot.RateLimit rateLimit, Bot.Retry retry) {

  /** What WeCom's SDKs and most receivers accept: a request signed more than this from now is a replay. */
  static final Duration WINDOW = Duration.ofMinutes(5);
  /** A callback is a few KB; what goes beyond this is not from WeCom (the ingress bounds bodies at 64 KB too). */
  static final int MAX_BODY_BYTES = 64 * 1024;
  static final String API = "https://qyapi.weixin.qq.com";
  /**
   * An app may send one member 30 messages a minute (and 1000 an hour); replies are paced per
   * member or chat, so this is the window of one conversation.
   */
  static final Bot.RateLimit REPLY_LIMIT = new Bot.RateLimit(30, Duration.ofMinutes(1));

  public WeComApp(String name, String corpId, String token, String encodingAesKey, String offReason) {
    this(name, corpId, token, encodingAesKey, offReason, WINDOW, "", 0, API, "secret unset", REPLY_LIMIT, Bot.Retry.DEFAULT);
  }

  static WeComApp from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "corp_id", "token", "encoding_aes_key", "agent_id", "secret", "api_base", "template", "rate_limit",
        "retry", "enabled", "allow", "reply_in_groups", "timestamp_window", "skills");
    String key = node.get("encoding_aes_key").stringIfSet("");
    if (!key.isEmpty() && key.length() != 43) {
      throw node.get("encoding_aes_key").error("must be 43 characters (the EncodingAESKey of the app), got " + key.length());
    }
    String token = node.get("token").stringIfSet("");
    String corp = node.get("corp_id").stringIfSet("");
    String off = !node.get("enabled").bool(true) ? "disabled"
        : corp.isEmpty() ? BotConfig.unset("corp_id", raw)
        : token.isEmpty() ? BotConfig.unset("token", raw)
        : key.isEmpty() ? BotConfig.unset("encoding_aes_key", raw) : null;
    String secret = node.get("secret").stringIfSet("");
    String agent = node.get("agent_id").stringIfSet("");
    long agentId = 0;
    if (!agent.isEmpty()) {
      try {
        agentId = Long.parseLong(agent);
      } catch (NumberFormatException e) {
        throw node.get("agent_id").error("expected the app's AgentId, a whole number, got '" + agent + "'");
      }
    }
    String replyOff = secret.isEmpty() ? BotConfig.unset("secret", raw) + ": messages are received but not answered"
        : agent.isEmpty() ? BotConfig.unset("agent_id", raw) + ": messages are received but not answered" : null;
    String base = node.get("api_base").isMissing() ? API : BotConfig.url(node.get("api_base"));
    while (base.endsWith("/")) {
      base = base.substring(0, base.length() - 1);
    }
    return new WeComApp(node.get("name").requiredString(), corp, token, key, off, BotConfig.window(node.get("timestamp_window"), WINDOW),
        secret, agentId, base, replyOff, BotConfig.rateLimit(node.get("rate_limit"), REPLY_LIMIT.messages(), REPLY_LIMIT.per()),
        BotConfig.retry(node.get("retry")));
  }

  /** sha1 hex of token, timestamp, nonce and the encrypted text, sorted and joined. */
  String signature(String timestamp, String nonce, String encrypted) {
    String[] parts = {token, timestamp, nonce, encrypted};
    Arrays.sort(parts);
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(String.join("", parts).getBytes(StandardCharsets.UTF_8)));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  byte[] aesKey() {
    return Base64.getDecoder().decode(encodingAesKey + "=");
  }

  /** The message and the receive id it was sealed for. */
  record Opened(String message, String receiveId) {
  }

  /** Decrypts at most {@link #MAX_BODY_BYTES} of ciphertext; the plaintext is never longer than that. */
  Opened decrypt(String encrypted) {
    if (encrypted.length() > MAX_BODY_BYTES * 4 / 3 + 4) {
      throw new IllegalArgumentException("cannot decrypt: the encrypted text is over " + MAX_BODY_BYTES / 1024 + " KB");
    }
    try {
      byte[] key = aesKey();
      Cipher cipher = Cipher.getInstance("AES/CBC/NoPadding");
      cipher.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "AES"), new IvParameterSpec(key, 0, 16));
      byte[] plain = cipher.doFinal(Base64.getDecoder().decode(encrypted));
      int pad = plain[plain.length - 1] & 0xff;
      if (pad < 1 || pad > 32 || pad > plain.length) {
        throw new IllegalArgumentException("bad padding");
      }
      int end = plain.length - pad;
      int length = ByteBuffer.wrap(plain, 16, 4).getInt();
      if (length < 0 || 20 + length > end) {
        throw new IllegalArgumentException("bad message length");
      }
      return new Opened(new String(plain, 20, length, StandardCharsets.UTF_8),
          new String(plain, 20 + length, end - 20 - length, StandardCharsets.UTF_8));
    } catch (GeneralSecurityException | IllegalArgumentException | IndexOutOfBoundsException e) {
      throw new IllegalArgumentException("cannot decrypt: " + e.getMessage(), e);
    }
  }
}
