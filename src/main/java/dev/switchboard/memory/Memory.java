package dev.switchboard.memory;

import io.vertx.core.json.JsonObject;
import java.time.Instant;

/**
 * One long-term memory: a piece of text that belongs to exactly one scope ({@code user:<id>},
 * {@code conversation:<platform>:<id>}, {@code agent:<name>}, {@code tenant:<id>}).
 * {@code tokens} is the segmented text (space-separated) that keyword search matches;
 * {@code hash} identifies the content within its scope, so the same text is stored once.
 */
public record Memory(
    String id,
    String scope,
    String content,
    String tokens,
    String hash,
    JsonObject source,
    Status status,
    String supersededBy,
    Instant createdAt,
    Instant updatedAt,
    Instant expiresAt) {

  public enum Status {
    ACTIVE, SUPERSEDED;

    public String wire() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Status of(String s) {
      return valueOf(s.toUpperCase(java.util.Locale.ROOT));
    }
  }

  public boolean expired(Instant now) {
    return expiresAt != null && !expiresAt.isAfter(now);
  }

  /** The API's view (design §3.3), plus status and expiry. */
  public JsonObject toJson() {
    JsonObject json = new JsonObject()
        .put("id", id)
        .put("content", content)
        .put("scope", scope)
        .put("source", source == null ? new JsonObject() : source)
        .put("status", status.wire())
        .put("created_at", createdAt.toString())
        .put("updated_at", updatedAt.toString());
    if (expiresAt != null) {
      json.put("expires_at", expiresAt.toString());
    }
    if (supersededBy != null) {
      json.put("superseded_by", supersededBy);
    }
    return json;
  }
}
