package dev.switchboard.ingress;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.CallEvent;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.UpstreamReply;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One client's model call, seen from the ingress: it registers the call's id, sends the call to
 * the model component, and pipes the call's events to the HTTP response: one answer, or a stream
 * written with backpressure ({@code MODEL_PAUSE} while the client's socket is full,
 * {@code MODEL_RESUME} once it drains). The client going away cancels the call, streaming or not.
 * The dispatcher owns the timeouts and always ends a call; the watchdog here is only a safety net
 * for a dispatcher gone quiet (stopped mid-call), set past its deadline so that it never fires first.
 */
final class CallRelay implements Handler<Message<CallEvent>> {

  /**
   * How long a call's consumer stays registered after its client went away or its watchdog fired,
   * when the dispatcher does not acknowledge the cancel: events already sent to it are dropped
   * quietly instead of being logged as undeliverable.
   */
  static final Duration CANCEL_GRACE = Duration.ofSeconds(5);
  private static final Buffer DONE = Buffer.buffer("data: [DONE]\n\n");
  /** Unique in this process (the consumers and cancels that use them are local) and across a cluster. */
  private static final String PREFIX = Addresses.CALL_PREFIX + UUID.randomUUID() + ".";
  private static final AtomicLong CALLS = new AtomicLong();

  /** Reports the gateway's own time on a response about to be written. */
  interface Overhead {
    void report(RoutingContext ctx, boolean stream, long arrived, long upstreamNanos);
  }

  private final Vertx vertx;
  private final RoutingContext ctx;
  private final String id = PREFIX + CALLS.incrementAndGet();
  private final long arrived;
  private final Overhead overhead;
  private final MessageConsumer<CallEvent> consumer;
  private final long watchdog;
  /** The response's head is written: a failure now goes into the stream, not into a status. */
  private boolean started;
  /** Nothing more goes to the client: the call ended, failed, or the client left. */
  private boolean finished;

  private CallRelay(Vertx vertx, RoutingContext ctx, boolean stream, long arrived, Duration safetyNet, Overhead overhead) {
    this.vertx = vertx;
    this.ctx = ctx;
    this.arrived = arrived;
    this.overhead = overhead;
    // a local consumer is registered at once: the call can be sent right after, with no round trip
    this.consumer = vertx.eventBus().<CallEvent>localConsumer(id).handler(this);
    this.watchdog = vertx.setTimer(safetyNet.toMillis(), t -> {
      if (!started && !finished) {
        finished = true;
        cancel();
        ctx.fail(Failure.timeout(stream ? "no upstream produced a token in time" : "no upstream answered in time"));
      }
    });
    // an end handler, not the response's close handler, which the router's own end handlers use
    ctx.addEndHandler(ended -> {
      vertx.cancelTimer(watchdog);
      if (!finished) {
        finished = true;
        cancel();
      }
    });
  }

  /**
   * Sends {@code body} as a model call and relays its events to {@code ctx}'s response.
   * {@code safetyNet} must be longer than the dispatcher's own deadline.
   */
  static void start(Vertx vertx, RoutingContext ctx, io.vertx.core.json.JsonObject body, String subject,
                    java.util.List<String> tags, long arrived, Duration safetyNet, Overhead overhead) {
    if (ctx.response().closed()) {
      // the client left during an earlier step (a memory recall): an end handler added now would
      // never run, so the call could not be cancelled; there is nobody to answer anyway
      return;
    }
    boolean stream = Boolean.TRUE.equals(body.getValue("stream"));
    CallRelay relay = new CallRelay(vertx, ctx, stream, arrived, safetyNet, overhead);
    // a write, not a send: a model component that is not there fails it at once (503), instead of
    // leaving the client to the safety net
    vertx.eventBus().<ChatCall>sender(Addresses.MODEL_CALL).write(new ChatCall(body, subject, relay.id, tags, stream))
        .onFailure(relay::unsent);
  }

  private void unsent(Throwable e) {
    if (!finished) {
      end();
      ctx.fail(e);
    }
  }

  @Override
  public void handle(Message<CallEvent> message) {
    if (finished) {
      return; // sent before the dispatcher saw the cancel
    }
    HttpServerResponse response = ctx.response();
    CallEvent event = message.body();
    if (event instanceof CallEvent.Chunk chunk) {
      write(response, chunk.data());
    } else if (event instanceof CallEvent.Answer answer) {
      end();
      UpstreamReply reply = answer.reply();
      overhead.report(ctx, false, arrived, reply.upstreamNanos());
      response.putHeader("x-switchboard-provider", reply.provider());
      HttpIngressVerticle.sendReply(ctx, reply);
    } else if (event instanceof CallEvent.Head head) {
      vertx.cancelTimer(watchdog);
      started = true;
      overhead.report(ctx, true, arrived, head.upstreamNanos());
      response.setStatusCode(200)
          .setChunked(true)
          .putHeader(HttpHeaderNames.CONTENT_TYPE, "text/event-stream; charset=utf-8")
          .putHeader(HttpHeaderNames.CACHE_CONTROL, "no-cache")
          .putHeader("x-switchboard-provider", head.provider());
      if (head.data() != null) {
        write(response, head.data());
      }
    } else if (event instanceof CallEvent.End last) {
      end();
      if (last.data() != null) {
        response.end(last.data());
      } else {
        response.end();
      }
    } else if (event instanceof CallEvent.Failed failed) {
      end();
      if (started) {
        response.write(Buffer.buffer("data: " + failed.failure().encode() + "\n\n"));
        response.end(DONE);
      } else {
        ctx.fail(failed.failure());
      }
    }
  }

  /** The call is over: nothing more is sent to its id. */
  private void end() {
    finished = true;
    vertx.cancelTimer(watchdog);
    consumer.unregister();
  }

  /**
   * Stops a call the client no longer waits on. Events the dispatcher sent before it saw the
   * cancel are still on their way, so the consumer (which ignores them by now) is kept until the
   * cancel is answered, or for {@link #CANCEL_GRACE} when it is not: unregistered at once, each of
   * them would be logged as a message nobody consumed.
   */
  private void cancel() {
    vertx.eventBus().request(Addresses.MODEL_CANCEL, id, new DeliveryOptions().setSendTimeout(CANCEL_GRACE.toMillis()))
        .onComplete(ar -> consumer.unregister());
  }

  private void write(HttpServerResponse response, Buffer data) {
    response.write(data);
    if (response.writeQueueFull()) {
      // a slow client: stop reading the upstream until the socket drains
      EventBus bus = vertx.eventBus();
      bus.send(Addresses.MODEL_PAUSE, id);
      response.drainHandler(v -> bus.send(Addresses.MODEL_RESUME, id));
    }
  }
}
