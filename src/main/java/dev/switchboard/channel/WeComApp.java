package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * A WeCom (企业微信) app callback: URL verification and message decryption. The AES key is the
 * Base64 of the 43-character EncodingAESKey plus "="; the IV is its first 16 bytes; plaintext is
 * random(16) | length (4, big-endian) | message | receive id, padded to 32-byte blocks, which
 * Java's PKCS5 padding cannot undo, hence NoPadding and our own unpadding.
 */
public record WeComApp(String name, String corpId, String token, String encodingAesKey, String offReason) {

  static WeComApp from(ConfigNode node, ConfigNode raw) {
    node.allowOnly("name", "corp_id", "token", "encoding_aes_key", "agent_id", "template", "rate_limit", "retry",
        "enabled", "allow", "reply_in_groups");
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
    return new WeComApp(node.get("name").requiredString(), corp, token, key, off);
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

  Opened decrypt(String encrypted) {
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
