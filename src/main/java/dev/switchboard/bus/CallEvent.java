package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/**
 * What a model call sends to its id ({@link Addresses#MODEL_CALL}), in order. A call answered as
 * one reply sends one {@code Answer} or one {@code Failed}. A streamed call sends one
 * {@code Head}, any number of {@code Chunk}s, then {@code End} or {@code Failed}; a {@code Failed}
 * before the head becomes an HTTP error, after it an error event followed by {@code [DONE]}. A
 * cancelled call sends nothing more.
 */
public sealed interface CallEvent {

  /** The whole answer of a call that does not stream. */
  record Answer(UpstreamReply reply) implements CallEvent {
  }

  /**
   * Sent with the first token, with the events so far; {@code upstreamNanos} is the time spent
   * waiting on upstreams until then.
   */
  record Head(String provider, String model, long upstreamNanos, Buffer data) implements CallEvent {
  }

  record Chunk(Buffer data) implements CallEvent {
  }

  /** The last events (may be null), then the end of the stream. */
  record End(Buffer data) implements CallEvent {
  }

  record Failed(Failure failure) implements CallEvent {
  }
}
