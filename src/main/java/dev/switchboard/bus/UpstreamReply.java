package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/**
 * A completion ready for the client, with the deployment that produced it and the time spent
 * waiting on upstreams (so the edge can report the gateway's own overhead).
 */
public record UpstreamReply(int status, String contentType, Buffer body, String provider, String model, long upstreamNanos) {

  public UpstreamReply(int status, String contentType, Buffer body) {
    this(status, contentType, body, null, null, 0);
  }
}
