package dev.switchboard.testing;

import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small, fast, deterministic OpenAI-compatible model server for tests, load tests and demos.
 *
 * <p>Endpoints, all under {@code /v1}:
 * <ul>
 *   <li>{@code POST /v1/chat/completions}: answers {@code "echo: " + <last user message>}, as a
 *       {@code chat.completion} object or, with {@code stream:true}, as server-sent
 *       {@code chat.completion.chunk} events ending with {@code data: [DONE]};</li>
 *   <li>{@code GET /v1/models}: two models, {@code fake-model} and {@code fake-model-2};</li>
 *   <li>{@code POST /v1/embeddings}: unit vectors derived from a hash of each input.</li>
 * </ul>
 * Token counts are the number of whitespace-separated words. Anything else gets an OpenAI-shaped
 * error. It is the baseline of the gateway benchmarks, so it does not log requests, never blocks
 * and implements {@link #delay(Duration)} with a timer.
 *
 * <p>Misbehaviour on demand, for tests of retries, failover and circuit breakers:
 * {@link #respondWith(int, String, Map)} (canned errors such as 429 with {@code Retry-After}, or
 * a redirect with {@code Location}), {@link #fault(Fault)} (stalls, broken streams, reset
 * connections, malformed JSON, endless or huge bodies, streams that never complete an event,
 * trickling or flooding streams), {@link #modelsFault(Fault)} and {@link #embeddingsFault(Fault)}
 * (the same body faults on those endpoints), {@link #failTimes(int)} (only the next n chat
 * requests misbehave), {@link #rejectKey(String)} (401 for one API key) and {@link #down(boolean)}
 * (503 everywhere). {@link #reset()} undoes all of them. What arrived is counted:
 * {@link #chatRequestCount()}, {@link #chatKeys()}, {@link #modelsRequests()},
 * {@link #chatRequests()} and {@link #chatHeaders()}; {@link #openConnections()} and
 * {@link #closedConnections()} show whether a client let go of a connection.
 *
 * <p>From the command line ({@code scripts/fake-upstream.sh}): {@code --host 127.0.0.1 --port 18800
 * --delay-ms 0 --instances <cpus>}; in that mode requests are not recorded.
 */
public final class FakeUpstream {

  private static final String DEFAULT_HOST = "127.0.0.1";
  private static final int DEFAULT_CLI_PORT = 18800;
  private static final int DEFAULT_EMBEDDING_DIMENSIONS = 8;
  private static final int MAX_EMBEDDING_DIMENSIONS = 8192;

  private static final CharSequence APPLICATION_JSON = HttpHeaders.createOptimized("application/json");
  private static final CharSequence EVENT_STREAM = HttpHeaders.createOptimized("text/event-stream");
  private static final CharSequence NO_CACHE = HttpHeaders.createOptimized("no-cache");
  private static final Buffer DONE_EVENT = Buffer.buffer("data: [DONE]\n\n");
  private static final Buffer MODELS = modelList();
  private static final Buffer INVALID_KEY = Buffer.buffer(
    "{\"error\":{\"message\":\"Incorrect API key provided\",\"type\":\"invalid_request_error\","
      + "\"code\":\"invalid_api_key\"}}");
  private static final Buffer UNAVAILABLE = Buffer.buffer(
    "{\"error\":{\"message\":\"service unavailable\",\"type\":\"server_error\"}}");
  /** What {@link Fault#MALFORMED_JSON} sends: the start of a completion, cut off. */
  static final String MALFORMED_BODY = "{\"id\": \"chatcmpl-x\", \"choices\": [";
  /** What {@link Fault#MALFORMED_JSON} streams: an event whose data is not JSON, then [DONE]. */
  static final String MALFORMED_STREAM = "data: {not json\n\ndata: [DONE]\n\n";

  /** Ways to misbehave on chat completion requests; see {@link #fault(Fault)}. */
  public enum Fault {
    /** Normal answers. */
    NONE,
    /** Reads the request and then sends nothing at all, not even headers, until the client gives up. */
    STALL_BEFORE_FIRST_TOKEN,
    /**
     * Streams: 200, the headers, the role chunk and the first content chunk, then the connection is
     * closed without the rest or {@code [DONE]}. Non-stream requests: the connection is closed without
     * an answer. Both after the {@link #delay(Duration) delay}.
     */
    BREAK_AFTER_FIRST_TOKEN,
    /** Closes the connection as soon as the request has arrived, without any response or delay. */
    RESET_CONNECTION,
    /**
     * 200 {@code application/json} with a truncated body that is not JSON; streams get 200
     * {@code text/event-stream} with {@code data: {not json} and then {@code data: [DONE]}.
     */
    MALFORMED_JSON,
    /**
     * 200 with a body that never ends: chunked bytes, written as fast as the client reads them,
     * until it closes the connection. Non-stream requests get the start of a completion whose content
     * goes on forever; streams get {@code data: } and then bytes without ever ending the event.
     */
    ENDLESS_BODY,
    /**
     * 200 with a well-formed but huge answer: a completion (with {@code Content-Length}) whose content
     * is {@link #hugeSize(long)} bytes (20 MiB + 1 by default); streams get one event of that size,
     * sent chunked, then {@code [DONE]}.
     */
    HUGE_BODY,
    /**
     * 200 and the headers (for streams also a {@code : keep-alive} comment), then nothing until the
     * client closes the connection.
     */
    STALL_AFTER_HEADERS,
    /**
     * Streams: 200, then one content chunk every 100 ms, never ending, until the client closes the
     * connection. Non-stream requests: the headers, then a space every 100 ms, never ending.
     */
    TRICKLE,
    /**
     * Streams: 200, then content chunks as fast as the client reads them, never ending, until it
     * closes the connection (for backpressure). Non-stream requests: like {@link #ENDLESS_BODY}.
     */
    FLOOD
  }

  private final Vertx vertx;
  private final String host;
  private final boolean recording;
  private final AtomicLong completionIds = new AtomicLong();
  private final List<Recorded> recorded = new ArrayList<>();
  /** The bearer key of every chat request that arrived, null when it had none; guarded by {@link #recorded}. */
  private final List<String> keys = new ArrayList<>();
  private final AtomicInteger chatCount = new AtomicInteger();
  private final AtomicInteger modelsCount = new AtomicInteger();
  /** Guards the changes of {@link #canned}, {@link #fault} and {@link #failuresLeft} together. */
  private final Object misbehaviour = new Object();
  private volatile long delayMillis;
  private volatile Canned canned;
  private volatile java.util.function.Function<JsonObject, JsonObject> script;
  private volatile Fault fault = Fault.NONE;
  /** How many more chat requests get {@link #canned} or {@link #fault}; -1: all of them. */
  private int failuresLeft = -1;
  private volatile Set<String> rejectedKeys = Set.of();
  private volatile Fault modelsFault = Fault.NONE;
  private volatile Fault embeddingsFault = Fault.NONE;
  private volatile long hugeSize = 20L * 1024 * 1024 + 1;
  private final AtomicInteger openConnections = new AtomicInteger();
  private final AtomicInteger closedConnections = new AtomicInteger();
  private final AtomicLong endlessBytes = new AtomicLong();
  private volatile boolean down;
  private volatile int port;
  private String deploymentId;
  private Future<Void> closed;

  /** A chat request as received: its JSON body and a copy of its headers. */
  private record Recorded(JsonObject body, MultiMap headers) {}

  /** The status, body and headers that {@link #respondWith(int, String, Map)} makes chat requests get. */
  private record Canned(int status, Buffer body, Map<String, String> headers) {}

  /** How one chat request is to be answered. */
  private record Plan(Fault fault, Canned canned) {}

  private static final Plan NORMAL = new Plan(Fault.NONE, null);

  private FakeUpstream(Vertx vertx, String host, boolean recording) {
    this.vertx = vertx;
    this.host = host;
    this.recording = recording;
  }

  /** Starts a fake upstream on a random free port of 127.0.0.1. */
  public static Future<FakeUpstream> start(Vertx vertx) {
    return start(vertx, 0);
  }

  /** Starts a fake upstream on 127.0.0.1:{@code port} (0 = a random free port). */
  public static Future<FakeUpstream> start(Vertx vertx, int port) {
    return start(vertx, DEFAULT_HOST, port, 1, true);
  }

  /**
   * Deploys {@code instances} HTTP servers sharing one port, so that several event loops answer.
   * Vert.x only shares a fixed port between servers: with port 0 a single instance is started.
   */
  private static Future<FakeUpstream> start(Vertx vertx, String host, int port, int instances, boolean recording) {
    FakeUpstream fake = new FakeUpstream(vertx, host, recording);
    DeploymentOptions options = new DeploymentOptions().setInstances(port == 0 ? 1 : Math.max(1, instances));
    return vertx.deployVerticle(() -> fake.new Listener(port), options)
      .map(id -> {
        fake.deploymentId = id;
        return fake;
      });
  }

  /** One HTTP server, on the event loop of its own verticle instance. */
  private final class Listener extends VerticleBase {
    private final int requestedPort;

    Listener(int requestedPort) {
      this.requestedPort = requestedPort;
    }

    @Override
    public Future<?> start() {
      return vertx.createHttpServer(new HttpServerOptions())
        .connectionHandler(connection -> {
          openConnections.incrementAndGet();
          connection.closeHandler(v -> {
            openConnections.decrementAndGet();
            closedConnections.incrementAndGet();
          });
        })
        .requestHandler(FakeUpstream.this::handle)
        .listen(requestedPort, host)
        .onSuccess(server -> port = server.actualPort());
    }
  }

  public int port() {
    return port;
  }

  /** The OpenAI base URL, e.g. {@code http://127.0.0.1:18800/v1}. */
  public String baseUrl() {
    return "http://" + host + ":" + port + "/v1";
  }

  /** Waits this long before answering chat completion and embedding requests (default 0). */
  public FakeUpstream delay(Duration delay) {
    // a positive delay shorter than a millisecond still waits one
    this.delayMillis = delay.isNegative() || delay.isZero() ? 0 : Math.max(1, delay.toMillis());
    return this;
  }

  /**
   * Following chat requests (streamed or not) get this status and JSON body instead of a completion,
   * after the {@link #delay(Duration) delay}; until {@link #reset()}, or for the next
   * {@link #failTimes(int) n} requests only. A {@link #fault(Fault) fault} wins over it.
   */
  public FakeUpstream respondWith(int status, String body) {
    return respondWith(status, body, Map.of());
  }

  /**
   * Like {@link #respondWith(int, String)}, with these response headers too, e.g.
   * {@code Map.of("Retry-After", "1")}; a {@code Content-Type} here replaces {@code application/json}.
   */
  public FakeUpstream respondWith(int status, String body, Map<String, String> headers) {
    Canned answer = new Canned(status, Buffer.buffer(body), Map.copyOf(headers));
    synchronized (misbehaviour) {
      canned = answer;
    }
    return this;
  }

  /**
   * Scripted mode: non-streamed chat requests are answered with the assistant message this function
   * makes of the request body (e.g. {@code tool_calls} until a tool result is in the messages), after
   * the delay, until {@link #reset()}; null goes back to echoing. Faults and canned answers win over it.
   */
  public FakeUpstream script(java.util.function.Function<JsonObject, JsonObject> assistant) {
    this.script = assistant;
    return this;
  }

  /**
   * Following chat completion requests misbehave this way until {@link #reset()} or
   * {@code fault(Fault.NONE)}, or for the next {@link #failTimes(int) n} requests only. It wins over
   * {@link #respondWith(int, String) respondWith}. Requests with a body that is not a chat request
   * still get 400.
   */
  public FakeUpstream fault(Fault fault) {
    synchronized (misbehaviour) {
      this.fault = fault == null ? Fault.NONE : fault;
    }
    return this;
  }

  /**
   * The canned response or fault applies to the next {@code n} well-formed chat requests only (those
   * answered 503 by {@link #down(boolean)} or 401 by {@link #rejectKey(String)} do not count); after
   * them both are forgotten and normal answers resume. May be called before or after
   * {@code respondWith}/{@code fault}; {@code failTimes(0)} forgets them at once.
   */
  public FakeUpstream failTimes(int n) {
    if (n < 0) {
      throw new IllegalArgumentException("failTimes needs n >= 0, got " + n);
    }
    synchronized (misbehaviour) {
      if (n == 0) {
        clearMisbehaviour();
      } else {
        failuresLeft = n;
      }
    }
    return this;
  }

  /**
   * {@code GET /v1/models} (the health probe and the model list) misbehaves this way until
   * {@link #reset()}: {@link Fault#ENDLESS_BODY}, {@link Fault#HUGE_BODY},
   * {@link Fault#MALFORMED_JSON} and {@link Fault#STALL_AFTER_HEADERS} apply; others answer normally.
   */
  public FakeUpstream modelsFault(Fault fault) {
    this.modelsFault = fault == null ? Fault.NONE : fault;
    return this;
  }

  /** Like {@link #modelsFault(Fault)}, for {@code POST /v1/embeddings}. */
  public FakeUpstream embeddingsFault(Fault fault) {
    this.embeddingsFault = fault == null ? Fault.NONE : fault;
    return this;
  }

  /** The size in bytes of the content that {@link Fault#HUGE_BODY} sends (20 MiB + 1 by default). */
  public FakeUpstream hugeSize(long bytes) {
    if (bytes < 1 || bytes > Integer.MAX_VALUE / 2) {
      throw new IllegalArgumentException("hugeSize needs 1 to " + Integer.MAX_VALUE / 2 + " bytes, got " + bytes);
    }
    this.hugeSize = bytes;
    return this;
  }

  /** Connections that clients hold open to this server right now. */
  public int openConnections() {
    return openConnections.get();
  }

  /** Bytes written so far by the never-ending answers ({@link Fault#ENDLESS_BODY}, {@link Fault#FLOOD}). */
  public long endlessBytes() {
    return endlessBytes.get();
  }

  /** Connections that have been closed (by either side) since the start. */
  public int closedConnections() {
    return closedConnections.get();
  }

  /**
   * Requests with {@code Authorization: Bearer <apiKey>} get 401 {@code invalid_api_key} on every
   * endpoint, without delay; may be called for several keys.
   */
  public FakeUpstream rejectKey(String apiKey) {
    synchronized (misbehaviour) {
      Set<String> keys = new java.util.HashSet<>(rejectedKeys);
      keys.add(apiKey);
      rejectedKeys = Set.copyOf(keys);
    }
    return this;
  }

  /**
   * While down, every endpoint (also {@code GET /v1/models}) answers 503 with an OpenAI-shaped
   * {@code server_error}, without delay; it wins over {@link #rejectKey(String)}.
   */
  public FakeUpstream down(boolean down) {
    this.down = down;
    return this;
  }

  /**
   * Back to normal completions without delay, fault, canned response, rejected keys or downtime;
   * forgets the recorded requests and zeroes the counters.
   */
  public FakeUpstream reset() {
    synchronized (misbehaviour) {
      clearMisbehaviour();
      rejectedKeys = Set.of();
    }
    down = false;
    script = null;
    delayMillis = 0;
    modelsFault = Fault.NONE;
    embeddingsFault = Fault.NONE;
    hugeSize = 20L * 1024 * 1024 + 1;
    synchronized (recorded) {
      recorded.clear();
      keys.clear();
      chatCount.set(0);
      modelsCount.set(0);
    }
    return this;
  }

  private void clearMisbehaviour() {
    canned = null;
    fault = Fault.NONE;
    failuresLeft = -1;
  }

  /** How many {@code GET /v1/models} requests arrived (health probes), whatever they were answered. */
  public int modelsRequests() {
    return modelsCount.get();
  }

  /**
   * How many {@code POST /v1/chat/completions} requests arrived, all of them: also those answered
   * with a fault, a canned response, 401, 503 or 400. {@link #chatRequests()} has fewer when some
   * bodies were not chat requests.
   */
  public int chatRequestCount() {
    return chatCount.get();
  }

  /**
   * The bearer key of each chat completion request that arrived, in order, null for a request
   * without {@code Authorization: Bearer}; one entry per {@link #chatRequestCount() request}.
   */
  public List<String> chatKeys() {
    synchronized (recorded) {
      return java.util.Collections.unmodifiableList(new ArrayList<>(keys));
    }
  }

  /**
   * The bodies of the chat completion requests received so far, in order: every request whose body
   * is a JSON object with a {@code model} and {@code messages}, however it was answered (normally,
   * with a canned response, a fault, 401 or 503). Bodies answered 400 are left out.
   */
  public List<JsonObject> chatRequests() {
    synchronized (recorded) {
      return recorded.stream().map(r -> r.body().copy()).toList();
    }
  }

  private final List<JsonObject> embeddingBodies = new java.util.ArrayList<>();

  /** The bodies of the embedding requests received so far, in order. */
  public List<JsonObject> embeddingRequests() {
    synchronized (embeddingBodies) {
      return embeddingBodies.stream().map(JsonObject::copy).toList();
    }
  }

  /** The headers of the requests in {@link #chatRequests()}, in the same order. */
  public List<MultiMap> chatHeaders() {
    synchronized (recorded) {
      return recorded.stream()
        .map(r -> MultiMap.caseInsensitiveMultiMap().addAll(r.headers()))
        .toList();
    }
  }

  /** Stops the servers; calling it again returns the same future. */
  public synchronized Future<Void> close() {
    if (closed == null) {
      closed = deploymentId == null ? Future.succeededFuture() : vertx.undeploy(deploymentId);
    }
    return closed;
  }

  // ---------------------------------------------------------------------------------------------
  // Routing

  private void handle(HttpServerRequest request) {
    String path = request.path();
    HttpMethod method = request.method();
    if (method == HttpMethod.POST && path.equals("/v1/chat/completions")) {
      chatRequest(request);
    } else if (refused(request)) {
      if (recording && method == HttpMethod.GET && path.equals("/v1/models")) {
        modelsCount.incrementAndGet();
      }
    } else if (method == HttpMethod.GET && path.equals("/v1/models")) {
      if (recording) {
        modelsCount.incrementAndGet();
      }
      Fault f = modelsFault;
      if (f == Fault.NONE || !misbehave(request, f, false, "{\"object\":\"list\",\"data\":[")) {
        sendJson(request.response(), 200, MODELS);
      }
    } else if (method == HttpMethod.POST && path.equals("/v1/embeddings")) {
      request.body().onSuccess(body -> {
        JsonObject json = jsonObject(body);
        if (json == null) {
          sendUnparsable(request.response());
        } else {
          synchronized (embeddingBodies) {
            embeddingBodies.add(json.copy());
          }
          Fault f = embeddingsFault;
          if (f == Fault.NONE || !misbehave(request, f, false, "{\"object\":\"list\",\"data\":[")) {
            embeddings(request, json);
          }
        }
      });
    } else {
      sendError(request.response(), 404, "Invalid URL (" + method + " " + path + ")");
    }
  }

  /** Answers 503 while {@link #down(boolean) down} and 401 for a rejected key; false when neither. */
  private boolean refused(HttpServerRequest request) {
    if (down) {
      sendJson(request.response(), 503, UNAVAILABLE);
      return true;
    }
    Set<String> rejected = rejectedKeys;
    if (!rejected.isEmpty() && rejected.contains(bearerKey(request))) {
      sendJson(request.response(), 401, INVALID_KEY);
      return true;
    }
    return false;
  }

  /** The key of an {@code Authorization: Bearer <key>} header, or null. */
  private static String bearerKey(HttpServerRequest request) {
    String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
    if (authorization == null || authorization.length() < 7 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return null;
    }
    return authorization.substring(7).trim();
  }

  /** The body as a JSON object, or null when it is empty or not one. */
  private static JsonObject jsonObject(Buffer body) {
    try {
      return body.length() == 0 ? null : body.toJsonObject();
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static void sendUnparsable(HttpServerResponse response) {
    sendError(response, 400, "We could not parse the JSON body of your request. "
      + "The OpenAI API expects a JSON payload.");
  }

  /** Runs {@code answer} after the configured delay, unless the client goes away first. */
  private void afterDelay(HttpServerRequest request, Runnable answer) {
    long millis = delayMillis;
    if (millis == 0) {
      answer.run();
      return;
    }
    long timer = vertx.setTimer(millis, id -> {
      if (!request.response().closed()) {
        answer.run();
      }
    });
    request.response().closeHandler(v -> vertx.cancelTimer(timer));
  }

  // ---------------------------------------------------------------------------------------------
  // Chat completions

  /**
   * Counts the request and its key, reads the body and records it when it is a chat request, then
   * answers: 503 when down, 401 for a rejected key, 400 for a bad body, else as planned.
   */
  private void chatRequest(HttpServerRequest request) {
    if (recording) {
      String key = bearerKey(request);
      synchronized (recorded) {
        chatCount.incrementAndGet();
        keys.add(key);
      }
    }
    request.body().onSuccess(buffer -> {
      JsonObject body = jsonObject(buffer);
      boolean wellFormed = body != null && body.getValue("model") instanceof String
        && body.getValue("messages") instanceof JsonArray;
      if (wellFormed && recording) {
        record(body, request.headers());
      }
      if (refused(request)) {
        return;
      }
      if (body == null) {
        sendUnparsable(request.response());
      } else if (!(body.getValue("model") instanceof String)) {
        sendError(request.response(), 400, "you must provide a model parameter");
      } else if (!(body.getValue("messages") instanceof JsonArray)) {
        sendError(request.response(), 400, "'messages' is a required property");
      } else {
        chatCompletion(request, body, nextPlan());
      }
    });
  }

  /** The misbehaviour for the next chat request, counting it against {@link #failTimes(int)}. */
  private Plan nextPlan() {
    if (fault == Fault.NONE && canned == null) {
      return NORMAL;
    }
    synchronized (misbehaviour) {
      Plan plan = new Plan(fault, canned);
      if (plan.fault() == Fault.NONE && plan.canned() == null) {
        return NORMAL;
      }
      if (failuresLeft > 0 && --failuresLeft == 0) {
        clearMisbehaviour();
      }
      return plan;
    }
  }

  private void chatCompletion(HttpServerRequest request, JsonObject body, Plan plan) {
    String model = body.getString("model");
    JsonArray messages = body.getJsonArray("messages");
    boolean streamed = Boolean.TRUE.equals(body.getValue("stream"));
    switch (plan.fault()) {
      case RESET_CONNECTION -> {
        request.connection().close();
        return;
      }
      case STALL_BEFORE_FIRST_TOKEN -> {
        // nothing at all: the client times out and closes the connection
        return;
      }
      case ENDLESS_BODY, HUGE_BODY, STALL_AFTER_HEADERS, TRICKLE, FLOOD -> {
        afterDelay(request, () -> misbehave(request, plan.fault(), streamed,
          "{\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion\",\"created\":0,\"model\":\"" + model
            + "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""));
        return;
      }
      default -> {
        // answered after the delay
      }
    }
    afterDelay(request, () -> {
      HttpServerResponse response = request.response();
      if (plan.fault() == Fault.MALFORMED_JSON) {
        if (streamed) {
          response.setChunked(true)
            .putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM)
            .putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE)
            .end(MALFORMED_STREAM);
        } else {
          sendJson(response, 200, Buffer.buffer(MALFORMED_BODY));
        }
        return;
      }
      String reply = "echo: " + lastUserText(messages);
      String id = "chatcmpl-fake-" + completionIds.incrementAndGet();
      long created = System.currentTimeMillis() / 1000;
      if (plan.fault() == Fault.BREAK_AFTER_FIRST_TOKEN) {
        if (streamed) {
          response.setChunked(true)
            .putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM)
            .putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE);
          response.write(event(chunk(id, created, model, new JsonObject().put("role", "assistant").put("content", ""), null)));
          response.write(event(chunk(id, created, model, new JsonObject().put("content", pieces(reply).get(0)), null)));
        }
        // the writes above go out first: Netty flushes and closes in order
        request.connection().close();
        return;
      }
      Canned cannedNow = plan.canned();
      if (cannedNow != null) {
        cannedNow.headers().forEach(response::putHeader);
        if (!response.headers().contains(HttpHeaders.CONTENT_TYPE)) {
          response.putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON);
        }
        response.setStatusCode(cannedNow.status()).end(cannedNow.body());
        return;
      }
      java.util.function.Function<JsonObject, JsonObject> scriptNow = script;
      if (scriptNow != null && !streamed) {
        JsonObject message = scriptNow.apply(body);
        // a tool call costs ten tokens: enough for token budgets to be tested without counting arguments
        JsonArray toolCalls = message.getJsonArray("tool_calls");
        Usage scripted = new Usage(promptTokens(messages), countWords(message.getValue("content") instanceof String text ? text : "")
          + 10 * (toolCalls == null ? 0 : toolCalls.size()));
        JsonObject answer = completion(id, created, model, "", scripted);
        answer.getJsonArray("choices").getJsonObject(0).put("message", message.copy().put("role", "assistant"))
          .put("finish_reason", toolCalls == null || toolCalls.isEmpty() ? "stop" : "tool_calls");
        sendJson(request.response(), 200, answer.toBuffer());
        return;
      }
      Usage usage = new Usage(promptTokens(messages), countWords(reply));
      if (streamed) {
        boolean includeUsage = body.getValue("stream_options") instanceof JsonObject streamOptions
          && Boolean.TRUE.equals(streamOptions.getValue("include_usage"));
        stream(request.response(), id, created, model, reply, includeUsage ? usage : null);
      } else {
        sendJson(request.response(), 200, completion(id, created, model, reply, usage).toBuffer());
      }
    });
  }

  /**
   * Answers with one of the body faults; false for a fault that does not apply here. {@code start}
   * opens the JSON document whose content string the endless and huge bodies fill.
   */
  private boolean misbehave(HttpServerRequest request, Fault f, boolean streamed, String start) {
    HttpServerResponse response = request.response();
    switch (f) {
      case MALFORMED_JSON -> {
        sendJson(response, 200, Buffer.buffer(MALFORMED_BODY));
        return true;
      }
      case STALL_AFTER_HEADERS -> {
        response.setChunked(true).putHeader(HttpHeaders.CONTENT_TYPE, streamed ? EVENT_STREAM : APPLICATION_JSON);
        if (streamed) {
          response.write(": keep-alive\n\n");
        } else {
          response.writeHead();
        }
        return true;
      }
      case TRICKLE -> {
        response.setChunked(true).putHeader(HttpHeaders.CONTENT_TYPE, streamed ? EVENT_STREAM : APPLICATION_JSON);
        Buffer piece = streamed
          ? event(chunk("chatcmpl-trickle", 0, "fake-model", new JsonObject().put("content", "tick "), null))
          : Buffer.buffer(" ");
        response.write(piece);
        long timer = vertx.setPeriodic(100, id -> {
          if (!response.closed()) {
            response.write(piece);
          }
        });
        response.closeHandler(v -> vertx.cancelTimer(timer));
        return true;
      }
      case ENDLESS_BODY -> {
        response.setChunked(true).putHeader(HttpHeaders.CONTENT_TYPE, streamed ? EVENT_STREAM : APPLICATION_JSON);
        response.write(streamed ? "data: {\"choices\":[{\"delta\":{\"content\":\"" : start);
        endless(response, ENDLESS_CHUNK);
        return true;
      }
      case FLOOD -> {
        response.setChunked(true).putHeader(HttpHeaders.CONTENT_TYPE, streamed ? EVENT_STREAM : APPLICATION_JSON);
        if (!streamed) {
          response.write(start);
        }
        endless(response, streamed ? FLOOD_CHUNK : ENDLESS_CHUNK);
        return true;
      }
      case HUGE_BODY -> {
        String content = "a".repeat((int) hugeSize);
        if (streamed) {
          response.setChunked(true).putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM);
          response.write("data: {\"id\":\"chatcmpl-huge\",\"object\":\"chat.completion.chunk\",\"created\":0,"
            + "\"model\":\"fake-model\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"");
          response.write(content);
          response.write("\"},\"finish_reason\":null}]}\n\n");
          response.end(DONE_EVENT);
        } else {
          String end = start.contains("chat.completion") ? "\"},\"finish_reason\":\"stop\"}],"
            + "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}" : "\"}]}";
          if (!start.contains("chat.completion")) {
            start = start + "{\"id\":\"";
          }
          sendJson(response, 200, Buffer.buffer(start).appendString(content).appendString(end));
        }
        return true;
      }
      default -> {
        return false;
      }
    }
  }

  private static final Buffer ENDLESS_CHUNK = Buffer.buffer("a".repeat(64 * 1024));
  private static final Buffer FLOOD_CHUNK = flood();

  /** Token chunks, about 64 KiB of them. */
  private static Buffer flood() {
    Buffer events = Buffer.buffer();
    Buffer one = event(chunk("chatcmpl-flood", 0, "fake-model", new JsonObject().put("content", "flood "), null));
    while (events.length() < 64 * 1024) {
      events.appendBuffer(one);
    }
    return events;
  }

  /**
   * Writes {@code piece} whenever the connection can take more, until it closes. A few pieces per
   * turn of the event loop: writes to a connection the peer has just dropped may never fill the
   * queue, and a loop that never yields would never see the close.
   */
  private void endless(HttpServerResponse response, Buffer piece) {
    for (int i = 0; i < 64 && !response.closed() && !response.writeQueueFull(); i++) {
      response.write(piece);
      endlessBytes.addAndGet(piece.length());
    }
    if (response.closed()) {
      return;
    }
    if (response.writeQueueFull()) {
      response.drainHandler(v -> endless(response, piece));
    } else {
      vertx.setTimer(1, id -> endless(response, piece));
    }
  }

  private void record(JsonObject body, MultiMap headers) {
    Recorded request = new Recorded(body, MultiMap.caseInsensitiveMultiMap().addAll(headers));
    synchronized (recorded) {
      recorded.add(request);
    }
  }

  private record Usage(int promptTokens, int completionTokens) {
    JsonObject toJson() {
      return new JsonObject()
        .put("prompt_tokens", promptTokens)
        .put("completion_tokens", completionTokens)
        .put("total_tokens", promptTokens + completionTokens);
    }
  }

  private static JsonObject completion(String id, long created, String model, String reply, Usage usage) {
    JsonObject message = new JsonObject()
      .put("role", "assistant")
      .put("content", reply)
      .putNull("refusal");
    JsonObject choice = new JsonObject()
      .put("index", 0)
      .put("message", message)
      .putNull("logprobs")
      .put("finish_reason", "stop");
    return new JsonObject()
      .put("id", id)
      .put("object", "chat.completion")
      .put("created", created)
      .put("model", model)
      .put("choices", new JsonArray().add(choice))
      .put("usage", usage.toJson());
  }

  /** Sends the reply as SSE chunks: the role, at least three content pieces, the finish, the usage. */
  private static void stream(HttpServerResponse response, String id, long created, String model, String reply,
                             Usage usage) {
    response.setChunked(true)
      .putHeader(HttpHeaders.CONTENT_TYPE, EVENT_STREAM)
      .putHeader(HttpHeaders.CACHE_CONTROL, NO_CACHE);
    response.write(event(chunk(id, created, model, new JsonObject().put("role", "assistant").put("content", ""), null)));
    for (String piece : pieces(reply)) {
      response.write(event(chunk(id, created, model, new JsonObject().put("content", piece), null)));
    }
    response.write(event(chunk(id, created, model, new JsonObject(), "stop")));
    if (usage != null) {
      response.write(event(chunkBase(id, created, model).put("choices", new JsonArray()).put("usage", usage.toJson())));
    }
    response.end(DONE_EVENT);
  }

  private static JsonObject chunk(String id, long created, String model, JsonObject delta, String finishReason) {
    JsonObject choice = new JsonObject()
      .put("index", 0)
      .put("delta", delta)
      .putNull("logprobs")
      .put("finish_reason", finishReason);
    return chunkBase(id, created, model).put("choices", new JsonArray().add(choice));
  }

  private static JsonObject chunkBase(String id, long created, String model) {
    return new JsonObject()
      .put("id", id)
      .put("object", "chat.completion.chunk")
      .put("created", created)
      .put("model", model);
  }

  private static Buffer event(JsonObject data) {
    return Buffer.buffer("data: " + data.encode() + "\n\n");
  }

  /**
   * Splits the reply into words, each with the whitespace before it, so that the pieces join back
   * into the reply; replies of fewer than three words are cut into three runs of characters.
   */
  static List<String> pieces(String reply) {
    List<String> pieces = new ArrayList<>();
    int start = 0;
    for (int i = 1; i < reply.length(); i++) {
      if (Character.isWhitespace(reply.charAt(i)) && !Character.isWhitespace(reply.charAt(i - 1))) {
        pieces.add(reply.substring(start, i));
        start = i;
      }
    }
    pieces.add(reply.substring(start));
    if (pieces.size() >= 3) {
      return pieces;
    }
    int codePoints = reply.codePointCount(0, reply.length());
    int first = reply.offsetByCodePoints(0, codePoints / 3);
    int second = reply.offsetByCodePoints(0, 2 * codePoints / 3);
    return List.of(reply.substring(0, first), reply.substring(first, second), reply.substring(second));
  }

  /** The text of the last message with role user; an array of parts gives its texts joined. */
  private static String lastUserText(JsonArray messages) {
    for (int i = messages.size() - 1; i >= 0; i--) {
      if (messages.getValue(i) instanceof JsonObject message && "user".equals(message.getValue("role"))) {
        return text(message.getValue("content"));
      }
    }
    return "";
  }

  private static int promptTokens(JsonArray messages) {
    int tokens = 0;
    for (Object message : messages) {
      if (message instanceof JsonObject json) {
        tokens += countWords(text(json.getValue("content")));
      }
    }
    return tokens;
  }

  private static String text(Object content) {
    if (content instanceof String string) {
      return string;
    }
    if (content instanceof JsonArray parts) {
      StringBuilder text = new StringBuilder();
      for (Object part : parts) {
        if (part instanceof JsonObject json && json.getValue("text") instanceof String partText) {
          text.append(partText);
        }
      }
      return text.toString();
    }
    return "";
  }

  /** The fake tokenizer: one token per whitespace-separated word. */
  static int countWords(String text) {
    int words = 0;
    boolean inWord = false;
    for (int i = 0; i < text.length(); i++) {
      boolean whitespace = Character.isWhitespace(text.charAt(i));
      if (!whitespace && !inWord) {
        words++;
      }
      inWord = !whitespace;
    }
    return words;
  }

  // ---------------------------------------------------------------------------------------------
  // Embeddings

  private void embeddings(HttpServerRequest request, JsonObject body) {
    if (!(body.getValue("model") instanceof String model)) {
      sendError(request.response(), 400, "you must provide a model parameter");
      return;
    }
    List<String> inputs = inputs(body.getValue("input"));
    if (inputs == null) {
      sendError(request.response(), 400, "'input' must be a non-empty string or array of strings");
      return;
    }
    Object requestedDimensions = body.containsKey("dimensions")
      ? body.getValue("dimensions") : DEFAULT_EMBEDDING_DIMENSIONS;
    if (!(requestedDimensions instanceof Integer dimensions) || dimensions < 1 || dimensions > MAX_EMBEDDING_DIMENSIONS) {
      sendError(request.response(), 400, "'dimensions' must be an integer between 1 and " + MAX_EMBEDDING_DIMENSIONS);
      return;
    }
    boolean base64 = "base64".equals(body.getValue("encoding_format"));
    afterDelay(request, () -> {
      JsonArray data = new JsonArray();
      int tokens = 0;
      for (int i = 0; i < inputs.size(); i++) {
        float[] vector = embedding(inputs.get(i), dimensions);
        data.add(new JsonObject()
          .put("object", "embedding")
          .put("index", i)
          .put("embedding", base64 ? toBase64(vector) : toJson(vector)));
        tokens += countWords(inputs.get(i));
      }
      JsonObject response = new JsonObject()
        .put("object", "list")
        .put("data", data)
        .put("model", model)
        .put("usage", new JsonObject().put("prompt_tokens", tokens).put("total_tokens", tokens));
      sendJson(request.response(), 200, response.toBuffer());
    });
  }

  private static List<String> inputs(Object input) {
    if (input instanceof String text) {
      return List.of(text);
    }
    if (input instanceof JsonArray array && !array.isEmpty()) {
      List<String> texts = new ArrayList<>(array.size());
      for (Object item : array) {
        if (!(item instanceof String text)) {
          return null;
        }
        texts.add(text);
      }
      return texts;
    }
    return null;
  }

  /** A unit vector drawn from a random generator seeded with a hash of the text. */
  static float[] embedding(String text, int dimensions) {
    SplittableRandom random = new SplittableRandom(fnv1a(text));
    float[] vector = new float[dimensions];
    double norm;
    do {
      double squares = 0;
      for (int i = 0; i < dimensions; i++) {
        vector[i] = (float) (random.nextDouble() * 2 - 1);
        squares += vector[i] * vector[i];
      }
      norm = Math.sqrt(squares);
    } while (norm == 0);
    for (int i = 0; i < dimensions; i++) {
      vector[i] = (float) (vector[i] / norm);
    }
    return vector;
  }

  private static long fnv1a(String text) {
    long hash = 0xcbf29ce484222325L;
    for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
      hash ^= b & 0xff;
      hash *= 0x100000001b3L;
    }
    return hash;
  }

  private static JsonArray toJson(float[] vector) {
    JsonArray array = new JsonArray(new ArrayList<>(vector.length));
    for (float value : vector) {
      array.add(value);
    }
    return array;
  }

  /** The {@code encoding_format: "base64"} form: little-endian float32s, as the node SDK asks by default. */
  private static String toBase64(float[] vector) {
    Buffer bytes = Buffer.buffer(vector.length * Float.BYTES);
    for (float value : vector) {
      bytes.appendFloatLE(value);
    }
    return Base64.getEncoder().encodeToString(bytes.getBytes());
  }

  // ---------------------------------------------------------------------------------------------
  // Responses

  private static Buffer modelList() {
    long created = 1_700_000_000L;
    JsonArray models = new JsonArray();
    for (String id : List.of("fake-model", "fake-model-2")) {
      models.add(new JsonObject().put("id", id).put("object", "model").put("created", created).put("owned_by", "fake"));
    }
    return new JsonObject().put("object", "list").put("data", models).toBuffer();
  }

  private static void sendJson(HttpServerResponse response, int status, Buffer body) {
    response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON).end(body);
  }

  private static void sendError(HttpServerResponse response, int status, String message) {
    JsonObject error = new JsonObject()
      .put("message", message)
      .put("type", "invalid_request_error")
      .putNull("param")
      .putNull("code");
    sendJson(response, status, new JsonObject().put("error", error).toBuffer());
  }

  // ---------------------------------------------------------------------------------------------
  // Command line

  /** {@code --host 127.0.0.1 --port 18800 --delay-ms 0 --instances <cpus>}; runs until killed. */
  public static void main(String[] args) {
    String usage = "usage: FakeUpstream [--host 127.0.0.1] [--port 18800] [--delay-ms 0] [--instances N]";
    if (List.of(args).contains("--help") || List.of(args).contains("-h")) {
      System.out.println("OpenAI-compatible fake model server\n" + usage);
      return;
    }
    Map<String, String> options;
    try {
      options = parseArgs(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(usage);
      System.exit(2);
      return;
    }
    String host = options.getOrDefault("host", DEFAULT_HOST);
    int port = Integer.parseInt(options.getOrDefault("port", String.valueOf(DEFAULT_CLI_PORT)));
    long delayMs = Long.parseLong(options.getOrDefault("delay-ms", "0"));
    int instances = Integer.parseInt(options.getOrDefault("instances",
      String.valueOf(Runtime.getRuntime().availableProcessors())));

    Vertx vertx = Vertx.vertx();
    start(vertx, host, port, instances, false)
      .onSuccess(fake -> {
        fake.delay(Duration.ofMillis(delayMs));
        System.out.println("fake upstream listening on " + fake.baseUrl());
        System.out.flush();
      })
      .onFailure(e -> {
        System.err.println("fake upstream failed to start on " + host + ":" + port + ": " + e);
        System.exit(1);
      });
  }

  private static Map<String, String> parseArgs(String[] args) {
    Map<String, String> options = new HashMap<>();
    List<String> known = List.of("host", "port", "delay-ms", "instances");
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String name = arg.startsWith("--") ? arg.substring(2) : "";
      String value;
      int equals = name.indexOf('=');
      if (equals >= 0) {
        value = name.substring(equals + 1);
        name = name.substring(0, equals);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        throw new IllegalArgumentException("missing value for " + arg);
      }
      if (!known.contains(name)) {
        throw new IllegalArgumentException("unknown option " + arg);
      }
      if (!name.equals("host") && !value.matches("\\d+")) {
        throw new IllegalArgumentException("--" + name + " needs a non-negative integer, got " + value);
      }
      options.put(name, value);
    }
    return options;
  }
}
