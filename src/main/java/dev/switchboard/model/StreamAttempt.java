package dev.switchboard.model;

import dev.switchboard.bus.CallEvent;
import dev.switchboard.model.spi.ModelProvider;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.RequestOptions;
import java.util.ArrayList;
import java.util.List;

/**
 * One streamed attempt. Events are held back until the first token, so that a deployment that
 * fails before it (error status, stall, broken connection, malformed event) can be replaced
 * without the client noticing. From the first token on the stream belongs to the client: its
 * events are relayed as they come, and a later failure can only end it. What is held is bounded
 * ({@code limits}): the bytes before the first token, and the bytes that arrive without completing
 * an event; past either the attempt fails and its connection is closed.
 */
final class StreamAttempt implements Attempt {

  /**
   * The call an attempt belongs to, which alone keeps its state: the attempt reports what it saw
   * (usage, the first token, time spent waiting) and hands over the events for the client.
   */
  interface Owner {
    boolean clientWantsUsage();

    void usage(ModelProvider.Usage usage);

    /** The first token came {@code ttftNanos} after the attempt started: the stream is now the client's. */
    void firstToken(long ttftNanos);

    /** Time spent waiting on the upstream that is not the gateway's own. */
    void waited(long nanos);

    long upstreamNanos();

    void send(CallEvent event);
  }

  private static final Buffer DONE = Buffer.buffer("data: [DONE]\n\n");

  private final Vertx vertx;
  private final Owner call;
  private final Deployment deployment;
  private final RequestOptions options;
  private final Buffer body;
  private final long firstTokenMs;
  private final long totalMs;
  private final Handler<Outcome> done;
  private final long startedNanos = System.nanoTime();
  private List<Buffer> held = new ArrayList<>(4);
  private Buffer outgoing;
  private boolean headPending;
  private boolean flushScheduled;
  private HttpClientRequest request;
  private HttpClientResponse response;
  private ModelProvider.StreamDecoder decoder;
  private long totalTimer = -1;
  private long firstTokenTimer = -1;
  private boolean started;
  private boolean sawDone;
  private boolean sawEvent;
  private boolean over;
  /** Bytes received before the first token. */
  private long beforeToken;
  /** Bytes received since the decoder last produced an event. */
  private long sinceEvent;

  /**
   * {@code firstTokenMs}: how long the first token may take (already cut to what the request's
   * deadline leaves); {@code totalMs}: the provider's budget for the whole stream.
   */
  StreamAttempt(Vertx vertx, Owner call, Deployment deployment, RequestOptions options, Buffer body,
                long firstTokenMs, long totalMs, Handler<Outcome> done) {
    this.vertx = vertx;
    this.call = call;
    this.deployment = deployment;
    this.options = options;
    this.body = body;
    this.firstTokenMs = firstTokenMs;
    this.totalMs = totalMs;
    this.done = done;
  }

  StreamAttempt start() {
    Provider p = deployment.provider;
    totalTimer = vertx.setTimer(totalMs, id -> broken(new Outcome(Outcome.Kind.RETRYABLE, p.timedOut(totalMs), 0)));
    firstTokenTimer = vertx.setTimer(firstTokenMs,
        id -> broken(new Outcome(Outcome.Kind.RETRYABLE, p.firstTokenTimedOut(firstTokenMs), 0)));
    p.open(options).onComplete(opened -> {
      if (opened.failed()) {
        end(Outcome.thrown(p, opened.cause()));
        return;
      }
      request = opened.result();
      if (over) {
        request.reset();
        return;
      }
      request.send(body).onComplete(sent -> {
        if (sent.failed()) {
          end(Outcome.thrown(p, sent.cause()));
        } else {
          onResponse(sent.result());
        }
      });
    });
    return this;
  }

  private void onResponse(HttpClientResponse r) {
    Provider p = deployment.provider;
    // first of all: every way out below may reset the request, and that reset comes back as this
    // response's exception; without a handler Vert.x logs it as unhandled (SEVERE "Stream reset")
    r.exceptionHandler(e -> broken(new Outcome(Outcome.Kind.RETRYABLE, p.unreachable(e), 0)));
    if (over) {
      return;
    }
    if (r.statusCode() / 100 != 2) {
      Bodies.head(r, Bodies.ERROR_BODY_BYTES).onComplete(b -> end(Outcome.status(p, r.statusCode(), b.result(), r.headers())));
      return;
    }
    response = r;
    try {
      decoder = p.protocol.decoder(call.clientWantsUsage());
    } catch (RuntimeException e) {
      broken(Outcome.malformed(p, String.valueOf(e.getMessage())));
      return;
    }
    ProviderSettings.Limits limits = p.settings.limits();
    r.handler(data -> {
      if (over) {
        return;
      }
      sinceEvent += data.length();
      if (!started) {
        beforeToken += data.length();
        if (beforeToken > limits.maxResponseSize()) {
          broken(Outcome.tooLarge(p, "more than " + ProviderSettings.Limits.describe(limits.maxResponseSize())
              + " before its first token (limits.max_response_size)"));
          return;
        }
      }
      relay(() -> decoder.feed(data));
      if (!over && sinceEvent > limits.maxEventSize()) {
        broken(Outcome.tooLarge(p, "more than " + ProviderSettings.Limits.describe(limits.maxEventSize())
            + " without completing a stream event (limits.max_event_size)"));
      }
    });
    r.endHandler(v -> {
      if (over) {
        return;
      }
      relay(decoder::end);
      if (over) {
        return;
      }
      if (!started && !sawEvent) {
        // a 200 with no events at all (a JSON error body, say) is no answer: try elsewhere
        broken(Outcome.malformed(p, "the stream carried no events"));
        return;
      }
      if (!started) {
        begin();
      }
      if (!sawDone) {
        send(DONE);
      }
      // the last events travel with the end: one write and one message fewer per stream
      Buffer last = outgoing;
      outgoing = null;
      if (headPending) {
        flush();
      }
      // accounting first: once the client has the end, it may already be asking about it
      finish(Outcome.OK);
      call.send(new CallEvent.End(last));
    });
  }

  private interface Decode {
    List<ModelProvider.Event> run();
  }

  private void relay(Decode decode) {
    List<ModelProvider.Event> events;
    try {
      events = decode.run();
    } catch (RuntimeException e) {
      broken(Outcome.malformed(deployment.provider, String.valueOf(e.getMessage())));
      return;
    }
    if (!events.isEmpty()) {
      sinceEvent = 0;
    }
    for (ModelProvider.Event e : events) {
      sawEvent = true;
      if (e.usage() != null) {
        call.usage(e.usage());
      }
      if (e.done()) {
        sawDone = true;
      }
      if (!started) {
        if (e.sse() != null) {
          held.add(e.sse());
        }
        if (e.token() || e.done()) {
          begin();
        }
      } else if (e.sse() != null) {
        send(e.sse());
      }
    }
  }

  /** The first token: the stream is now the client's. */
  private void begin() {
    started = true;
    cancel(firstTokenTimer);
    firstTokenTimer = -1;
    call.firstToken(System.nanoTime() - startedNanos);
    headPending = true;
    held.forEach(this::send);
    held = null;
    if (outgoing == null) {
      flush();
    }
  }

  /**
   * Queues an event for the client. Events decoded from one socket read go out as one bus
   * message, flushed once the read has been processed: fewer hops between event loops.
   */
  private void send(Buffer sse) {
    if (outgoing == null) {
      outgoing = Buffer.buffer(sse.length() * 4);
      if (!flushScheduled) {
        flushScheduled = true;
        vertx.getOrCreateContext().runOnContext(v -> {
          flushScheduled = false;
          if (!over) {
            flush();
          }
        });
      }
    }
    outgoing.appendBuffer(sse);
  }

  private void flush() {
    Buffer data = outgoing;
    outgoing = null;
    if (headPending) {
      headPending = false;
      call.send(new CallEvent.Head(deployment.provider.name(), deployment.model, call.upstreamNanos(), data));
    } else if (data != null) {
      call.send(new CallEvent.Chunk(data));
    }
  }

  /**
   * A failure: before the first token the retry loop takes over; after it, the stream ends with an
   * error. Either way the upstream connection is closed now, not left to run on.
   */
  private void broken(Outcome outcome) {
    if (over) {
      return;
    }
    end(outcome);
    if (request != null) {
      request.reset();
    }
  }

  private void end(Outcome outcome) {
    if (over) {
      return;
    }
    finish(outcome);
  }

  private void finish(Outcome outcome) {
    over = true;
    flush();
    cancel(totalTimer);
    cancel(firstTokenTimer);
    if (!started) {
      call.waited(System.nanoTime() - startedNanos);
    }
    done.handle(outcome);
  }

  @Override
  public void cancel() {
    if (over) {
      return;
    }
    // nothing more for a client that has gone: what is queued is dropped, not flushed
    outgoing = null;
    headPending = false;
    finish(Outcome.CANCELLED);
    if (request != null) {
      request.reset();
    }
  }

  @Override
  public void pause() {
    if (response != null && !over) {
      response.pause();
    }
  }

  @Override
  public void resume() {
    if (response != null && !over) {
      response.resume();
    }
  }

  private void cancel(long timer) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }
}
