package dev.switchboard.channel;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * DingTalk 加签: HmacSHA256 keyed with the secret over {@code timestamp + "\n" + secret}, Base64.
 * The custom robot takes it URL-encoded in the query; the enterprise robot callback sends the
 * plain Base64 in a header. Not the Feishu algorithm, which keys with the string instead.
 */
public final class DingTalkSigner {

  private DingTalkSigner() {
  }

  public static String sign(long timestampMillis, String secret) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
      byte[] digest = mac.doFinal((timestampMillis + "\n" + secret).getBytes(StandardCharsets.UTF_8));
      return Base64.getEncoder().encodeToString(digest);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** The webhook URL with {@code &timestamp=...&sign=...} appended; unchanged when there is no secret. */
  public static String signedUrl(String webhook, String secret, long timestampMillis) {
    if (secret == null || secret.isEmpty()) {
      return webhook;
    }
    String sign = URLEncoder.encode(sign(timestampMillis, secret), StandardCharsets.UTF_8);
    return webhook + (webhook.contains("?") ? "&" : "?") + "timestamp=" + timestampMillis + "&sign=" + sign;
  }
}
