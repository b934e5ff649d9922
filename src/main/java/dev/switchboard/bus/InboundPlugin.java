package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;
import java.util.Map;

/**
 * A request to {@code GET|POST /webhooks/{platform}/{bot}} for a plug-in channel, as received: the
 * plug-in decides what of it to check, so it gets all of it (header names in lower case, repeated
 * headers and parameters joined with ", ").
 */
public record InboundPlugin(String platform, String bot, String method, Map<String, String> headers,
                            Map<String, String> query, Buffer body) {

  /** What the platform is answered: the plug-in's own status, headers and body. */
  public record Answer(int status, Map<String, String> headers, Buffer body) {
  }
}
