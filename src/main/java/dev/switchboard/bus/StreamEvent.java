package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/**
 * The pieces of a streamed completion, in order: one {@code Head}, any number of {@code Chunk}s,
 * then {@code End} or {@code Failed}. A {@code Failed} before the head becomes an HTTP error; after
 * it, an error event followed by {@code [DONE]}.
 */
public sealed interface StreamEvent {

  /**
   * Sent with the first token, with the events so far; {@code upstreamNanos} is the time spent
   * waiting on upstreams until then.
   */
  record Head(String provider, String model, long upstreamNanos, Buffer data) implements StreamEvent {
  }

  record Chunk(Buffer data) implements StreamEvent {
  }

  /** The last events (may be null), then the end of the stream. */
  record End(Buffer data) implements StreamEvent {
  }

  record Failed(Failure failure) implements StreamEvent {
  }
}
