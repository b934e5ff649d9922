package dev.switchboard.observe;

import dev.switchboard.bus.Addresses;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryContext;
import io.vertx.core.eventbus.EventBus;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.internal.VertxBootstrap;
import io.vertx.core.spi.VertxServiceProvider;
import io.vertx.core.spi.context.storage.ContextLocal;
import java.security.SecureRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The request id ({@value #HEADER}) and the task id that the log lines of one piece of work carry.
 * Both live in the Vert.x context the work runs on: an HTTP request runs on its own (duplicated)
 * context, an event-bus message is handled on one too, and futures, timers and blocking calls
 * started there come back to it. So the id is set once where work enters (the HTTP edge, a task's
 * run), is copied onto every bus message sent from there as a header, and is put back into the
 * receiver's context by an inbound interceptor; {@link JsonLogFormatter} reads it from
 * {@link Vertx#currentContext()} when a line is written, on the thread that writes it.
 */
public final class RequestIds {

  public static final String HEADER = "x-request-id";
  /** The task id of a run, set by the gateway only (a bridge client's is dropped: bridge/BridgeAccess). */
  public static final String TASK_HEADER = "x-switchboard-task-id";

  /** What a client may send: long enough for a UUID or a trace id, short and plain enough to log as it is. */
  static final int MAX_LENGTH = 128;

  /** Where Vert.x sends replies ({@code __vertx.reply.N}). */
  private static final String REPLY_PREFIX = "__vertx.reply";

  private static final ContextLocal<String> REQUEST = Locals.REQUEST;
  private static final ContextLocal<String> TASK = Locals.TASK;

  // unique per process (random start) and cheap per request (a counter): no UUID on the hot path
  private static final String PREFIX;
  private static final AtomicLong COUNTER = new AtomicLong();

  static {
    SecureRandom random = new SecureRandom();
    PREFIX = Long.toString((random.nextLong() >>> 24) | (1L << 39), 36);
    COUNTER.set(random.nextInt(1 << 20));
  }

  private RequestIds() {
  }

  /**
   * Registers the context locals. Locals must exist before a Vert.x instance is built, and Vert.x
   * loads its service providers before it builds one, so registering them here (META-INF/services)
   * holds for every instance, whoever creates it.
   */
  public static final class Locals implements VertxServiceProvider {
    static final ContextLocal<String> REQUEST = ContextLocal.registerLocal(String.class);
    static final ContextLocal<String> TASK = ContextLocal.registerLocal(String.class);

    @Override
    public void init(VertxBootstrap builder) {
      // the static fields above are the work
    }
  }

  /** A fresh id: this process's random prefix and a counter. */
  public static String generate() {
    return PREFIX + "-" + Long.toString(COUNTER.incrementAndGet(), 36);
  }

  /**
   * {@code options} with a fresh request id, unless they carry a valid one: for work that enters without an
   * HTTP request (a Stream or long-connection frame, a bridge frame), so that it is followed too.
   */
  public static io.vertx.core.eventbus.DeliveryOptions fresh(io.vertx.core.eventbus.DeliveryOptions options) {
    String brought = options.getHeaders() == null ? null : options.getHeaders().get(HEADER);
    if (brought == null || !valid(brought)) {
      if (brought != null) {
        options.getHeaders().remove(HEADER);
      }
      options.addHeader(HEADER, generate());
    }
    return options;
  }

  /** The client's id when it is plain and bounded ([A-Za-z0-9._:-], at most 128), else a fresh one. */
  public static String accept(String offered) {
    return valid(offered) ? offered : generate();
  }

  static boolean valid(String id) {
    if (id == null || id.isEmpty() || id.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '.' || c == '_' || c == ':' || c == '-';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** The request id of the work running now, or null. */
  public static String current() {
    Context c = Vertx.currentContext();
    return c == null ? null : REQUEST.get(c);
  }

  /** The task id of the work running now, or null. */
  public static String currentTask() {
    Context c = Vertx.currentContext();
    return c == null ? null : TASK.get(c);
  }

  /**
   * In front of the HTTP server's handler: every request gets its id (the client's, or a fresh one)
   * on its context, and every response carries it back, whatever answers it (a route, the error
   * handler, the connection guard, a stream), because the header is set before anything is written.
   */
  public static Handler<HttpServerRequest> http(Handler<HttpServerRequest> next) {
    return request -> {
      String id = accept(request.getHeader(HEADER));
      Context c = Vertx.currentContext();
      if (c != null) {
        REQUEST.put(c, id);
      }
      request.response().putHeader(HEADER, id);
      next.handle(request);
    };
  }

  /**
   * Runs {@code work} on a new context of its own that carries the ids of a stored piece of work
   * (a task's run, picked up long after the request that submitted it), so that its lines, its
   * model calls and its pushes carry them.
   */
  public static <T> Future<T> within(Vertx vertx, String requestId, String taskId, Supplier<Future<T>> work) {
    // duplicate() is Vert.x's own way to give a unit of work its own locals; there is no public form yet.
    // From the root context, so nothing of the caller's work is inherited; the answer comes back on the caller's.
    ContextInternal here = (ContextInternal) vertx.getOrCreateContext();
    ContextInternal own = here.unwrap().duplicate();
    REQUEST.put(own, requestId);
    TASK.put(own, taskId);
    Promise<T> done = here.promise();
    own.runOnContext(v -> {
      try {
        work.get().onComplete(done);
      } catch (RuntimeException e) {
        done.tryFail(e);
      }
    });
    return done.future();
  }

  /**
   * {@code shared} as seen by the work running now: it completes on this work's context. For a future
   * that several pieces of work wait on (one token fetch for many pushes, a queue of writes): its
   * listeners would otherwise run on the context of the work that completed it, under that work's ids.
   */
  public static <T> Future<T> onCaller(Future<T> shared) {
    Context c = Vertx.currentContext();
    if (c == null) {
      return shared;
    }
    Promise<T> here = ((ContextInternal) c).promise();
    shared.onComplete(here);
    return here.future();
  }

  /**
   * Copies the ids onto every message sent while work with an id runs, and back into the
   * receiver's context. Replies are not read back: the asker's context already has its own id,
   * and a context shared by many pieces of work (a verticle's) must not take one of theirs.
   */
  public static void install(EventBus bus) {
    bus.addOutboundInterceptor(RequestIds::outbound);
    bus.addInboundInterceptor(RequestIds::inbound);
  }

  private static <T> void outbound(DeliveryContext<T> delivery) {
    Context c = Vertx.currentContext();
    // not on replies, which are never read back (see inbound), nor on audit events, which carry
    // theirs (see Audit.record): each stamp costs a header map and its copy. A call's events need
    // it: the edge writes the response, and its log line, from the context an event arrives on
    String address = delivery.message().address();
    if (c != null && !address.startsWith(REPLY_PREFIX) && !address.equals(Addresses.AUDIT_RECORD)) {
      String id = REQUEST.get(c);
      if (id != null && delivery.message().headers().get(HEADER) == null) {
        delivery.message().headers().add(HEADER, id);
      }
      String task = TASK.get(c);
      if (task != null && delivery.message().headers().get(TASK_HEADER) == null) {
        delivery.message().headers().add(TASK_HEADER, task);
      }
    }
    delivery.next();
  }

  private static <T> void inbound(DeliveryContext<T> delivery) {
    Context c = Vertx.currentContext();
    var message = delivery.message();
    if (c != null && ((ContextInternal) c).isDuplicate() && !message.address().startsWith(REPLY_PREFIX)) {
      // a bridge client writes its own headers: only a plain, bounded id is taken, as at the HTTP edge
      String id = message.headers().get(HEADER);
      if (id != null && valid(id)) {
        REQUEST.put(c, id);
      }
      String task = message.headers().get(TASK_HEADER);
      if (task != null && valid(task)) {
        TASK.put(c, task);
      }
    }
    delivery.next();
  }
}
