package dev.switchboard.model;

import dev.switchboard.audit.Audit;
import dev.switchboard.audit.AuditEvent;
import dev.switchboard.bus.ChatCall;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.CallEvent;
import dev.switchboard.bus.UpstreamReply;
import dev.switchboard.model.spi.ModelProvider;
import dev.switchboard.observe.Metrics;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.RequestOptions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Consumer;

/**
 * The retry loop: one per client request, never nested. Each attempt picks a deployment (the
 * request's group first, then its fallbacks; healthy before unhealthy; untried before tried; never
 * one whose answer was refused for its size or shape), and its outcome is classified before
 * anything acts: the breaker, the key pool, the provider's state and the loop each take what
 * concerns them. Backoff (full jitter) applies only when the next try goes back to a deployment
 * that already failed; a switch to another deployment or key is immediate. {@code retry.deadline}
 * bounds the whole request: an attempt gets the provider's budget or the time left, whichever is
 * shorter (for a stream, until its first token). Confined to the dispatcher verticle's event loop.
 */
final class Dispatcher {

  /** One client request across its attempts: the only owner of its state and its timeouts. */
  final class Call implements StreamAttempt.Owner {
    final ChatCall request;
    /** The call's id, for cancels (and, for a call sent to MODEL_CALL, where its events go); null when it cannot be cancelled. */
    final String id;
    final long startedMs = System.currentTimeMillis();
    final long deadline;
    /** The answer of a call started by {@link #chat}; null for one whose events go to its id. */
    final Promise<UpstreamReply> reply;
    List<Router.Step> chain;
    int step;
    final Set<Deployment> tried = new HashSet<>();
    /** Deployments whose answer was refused for its size or shape: not asked again in this request. */
    final Set<Deployment> refused = new HashSet<>();
    boolean onlyUntried;
    boolean contextSwitched;
    int attempts;
    Failure last;
    Outcome.Kind lastKind;
    /** Time spent waiting on upstreams and backoff: what is not the gateway's own overhead. */
    long upstreamNanos;
    long ttftNanos;
    ModelProvider.Usage usage;
    ModelProvider.Completion completion;
    /** The first token has gone to the client: no more retries. */
    boolean committed;
    boolean finished;
    Attempt current;

    final boolean clientWantsUsage;

    Call(ChatCall request, boolean events) {
      this.request = request;
      this.reply = events ? null : Promise.promise();
      this.clientWantsUsage = request.body().getValue("stream_options") instanceof io.vertx.core.json.JsonObject o
          && Boolean.TRUE.equals(o.getValue("include_usage"));
      this.id = request.id();
      this.deadline = startedMs + settings.retry().deadline().toMillis();
    }

    boolean stream() {
      return request.stream();
    }

    /** Whether the call's answer goes to its id as events, not to {@link #reply}. */
    boolean events() {
      return reply == null;
    }

    @Override
    public boolean clientWantsUsage() {
      return clientWantsUsage;
    }

    @Override
    public void usage(ModelProvider.Usage used) {
      usage = used;
    }

    @Override
    public void firstToken(long ttft) {
      committed = true;
      ttftNanos = ttft;
      upstreamNanos += ttft;
    }

    @Override
    public void waited(long nanos) {
      upstreamNanos += nanos;
    }

    @Override
    public long upstreamNanos() {
      return upstreamNanos;
    }

    @Override
    public void send(CallEvent event) {
      vertx.eventBus().send(id, event);
    }
  }

  private record Pick(Deployment deployment, int step) {
  }

  private final Vertx vertx;
  private final ModelSettings settings;
  private final Router router;
  private final Map<String, Provider> providers;
  private final Metrics metrics;
  private final UsageLedger usage;
  /** Probes a provider at once: live calls have just marked it down. */
  private final Consumer<Provider> confirmDown;
  /** Calls under way that can be cancelled, by id. */
  private final Map<String, Call> calls = new HashMap<>();

  Dispatcher(Vertx vertx, ModelSettings settings, Router router, Map<String, Provider> providers, Metrics metrics,
             UsageLedger usage, Consumer<Provider> confirmDown) {
    this.vertx = vertx;
    this.settings = settings;
    this.router = router;
    this.providers = providers;
    this.metrics = metrics;
    this.usage = usage;
    this.confirmDown = confirmDown;
  }

  /** Starts a call answered by the future (MODEL_CHAT, inside the gateway): its id, when set, only cancels it. */
  Future<UpstreamReply> chat(ChatCall request) {
    if (request.stream()) {
      return Future.failedFuture(Failure.badRequest("invalid_request", "a streamed call is sent to model.call"));
    }
    Call call = new Call(request, false);
    if (call.id != null) {
      calls.put(call.id, call);
    }
    begin(call);
    return call.reply.future();
  }

  /** Starts a call whose events go to its id (MODEL_CALL): one answer, or a stream. */
  void call(ChatCall request) {
    Call call = new Call(request, true);
    calls.put(call.id, call);
    begin(call);
  }

  /** Whether calls of this dispatcher still run (a reload keeps it for their cancels, pauses and resumes). */
  boolean busy() {
    return !calls.isEmpty();
  }

  /**
   * The client went away: the attempt under way is stopped and its upstream connection reset; the
   * deployment is not charged for it. Nothing more is sent to the call's id; a call answered by a
   * reply fails, for a caller nobody waits on.
   */
  void cancel(String id) {
    Call call = calls.remove(id);
    if (call != null) {
      call.finished = true;
      if (call.current != null) {
        call.current.cancel();
      }
      if (call.reply != null) {
        call.reply.tryFail(CLIENT_GONE);
      }
    }
  }

  private static final Failure CLIENT_GONE = new Failure(499, "invalid_request_error", "client_closed",
      "the client closed the connection");

  void pause(String id) {
    Call call = calls.get(id);
    if (call != null && call.current != null) {
      call.current.pause();
    }
  }

  void resume(String id) {
    Call call = calls.get(id);
    if (call != null && call.current != null) {
      call.current.resume();
    }
  }

  private void begin(Call call) {
    call.chain = router.chain(call.request.model());
    if (call.chain.isEmpty()) {
      fail(call, providers.isEmpty() ? noProvider() : servedOnlyByOff(call.request.model()));
      return;
    }
    next(call);
  }

  /** A model no provider that is on serves: 503 when one that is off would, else 404. */
  private Failure servedOnlyByOff(String model) {
    List<String> off = new ArrayList<>();
    for (ProviderSettings p : settings.providers()) {
      if (!p.enabled() && p.serves(model)) {
        off.add("'" + p.name() + "' (off: " + p.offReason() + ")");
      }
    }
    if (!off.isEmpty()) {
      return Failure.unavailable("provider_off", "the model '" + model + "' is served only by " + String.join(", ", off)
          + ": " + settings.howToEnable());
    }
    return new Failure(404, "invalid_request_error", "model_not_found",
        "The model '" + model + "' does not exist or is not served by any configured provider");
  }

  Failure noProvider() {
    return Failure.unavailable("no_provider", "no model provider is configured: " + settings.howToEnable());
  }

  private void next(Call call) {
    if (call.finished) {
      return;
    }
    long now = System.currentTimeMillis();
    long left = call.deadline - now;
    if (left <= 0 && call.last != null) {
      fail(call, gaveUp(call, now, true));
      return;
    }
    Pick pick = pick(call, now);
    if (pick == null) {
      fail(call, call.last != null ? gaveUp(call, now, false) : unavailable(call, now));
      return;
    }
    Deployment d = pick.deployment();
    Provider p = d.provider;
    KeyPool.Key key = p.keys.pick(now);
    if (pick.step() > call.step) {
      metrics.fallback(call.chain.get(call.step).group(), call.chain.get(pick.step()).group());
      call.step = pick.step();
    }
    if (call.attempts > 0) {
      metrics.retry(p.name(), d.label, reason(call.lastKind));
    }
    // the deadline bounds the whole request: an attempt has its provider's budget or what is left
    long total = p.settings.totalTimeout().toMillis();
    long budget = Math.max(1, Math.min(total, left));
    long firstToken = Math.min(budget, p.settings.firstTokenTimeout().toMillis());
    ModelProvider.Request request;
    RequestOptions options;
    try {
      request = p.protocol.chat(call.request.body(), d.model, call.stream(), p.settings.streamUsage());
      // the pool wait counts against the budget too, so a queued request cannot outlive its client
      options = p.options(request, key).setConnectTimeout(call.stream() ? firstToken : budget);
    } catch (RuntimeException e) {
      fail(call, Failure.badRequest("invalid_request", "the request cannot be sent to '" + p.name() + "': " + e.getMessage()));
      return;
    }
    call.attempts++;
    call.tried.add(d);
    boolean trial = d.breaker.acquire(now);
    d.inFlight++;
    p.inFlight++;
    long started = System.nanoTime();
    Handler<Outcome> done = outcome -> {
      d.inFlight--;
      p.inFlight--;
      settle(call, d, key, trial, outcome, System.nanoTime() - started);
    };
    call.current = call.stream()
        ? new StreamAttempt(vertx, call, d, options, request.body(), firstToken, total, done).start()
        : exchange(call, d, options, request, budget, done);
  }

  /** A non-streaming attempt: the whole answer, checked, within the budget. */
  private Attempt exchange(Call call, Deployment d, RequestOptions options, ModelProvider.Request request, long budget,
                           Handler<Outcome> done) {
    Provider p = d.provider;
    boolean[] over = new boolean[1];
    HttpClientRequest[] sent = new HttpClientRequest[1];
    long started = System.nanoTime();
    long timer = vertx.setTimer(budget, id -> {
      if (!over[0]) {
        over[0] = true;
        call.upstreamNanos += System.nanoTime() - started;
        done.handle(new Outcome(Outcome.Kind.RETRYABLE, p.timedOut(budget), 0));
        if (sent[0] != null) {
          sent[0].reset();
        }
      }
    });
    p.open(options)
        .compose(r -> {
          sent[0] = r;
          if (over[0]) {
            r.reset();
            return Future.failedFuture(p.timedOut(budget));
          }
          return request.body() == null ? r.send() : r.send(request.body());
        })
        .compose(r -> Bodies.answer(r, p))
        .onComplete(ar -> {
          if (over[0]) {
            return;
          }
          over[0] = true;
          vertx.cancelTimer(timer);
          call.upstreamNanos += System.nanoTime() - started;
          if (ar.failed()) {
            done.handle(Outcome.thrown(p, ar.cause()));
            return;
          }
          Bodies.Answer answer = ar.result();
          if (!answer.success()) {
            done.handle(Outcome.status(p, answer.status(), answer.body(), answer.headers()));
            return;
          }
          check(p, answer.body()).onComplete(checked -> {
            if (checked.succeeded()) {
              call.completion = checked.result();
              done.handle(Outcome.OK);
            } else {
              done.handle(Outcome.malformed(p, "not a chat completion (" + checked.cause().getMessage() + ")"));
            }
          });
        });
    return () -> {
      if (!over[0]) {
        over[0] = true;
        vertx.cancelTimer(timer);
        done.handle(Outcome.CANCELLED);
        if (sent[0] != null) {
          sent[0].reset();
        }
      }
    };
  }

  /** Bodies past this size are parsed on a worker thread: a big answer must not hold the event loop. */
  private static final int PARSE_ON_WORKER = 1024 * 1024;

  /** The answer as a completion, or a failure saying why it is not one. */
  private Future<ModelProvider.Completion> check(Provider p, Buffer body) {
    if (body.length() < PARSE_ON_WORKER) {
      try {
        return Future.succeededFuture(p.protocol.completion(body));
      } catch (RuntimeException e) {
        return Future.failedFuture(e);
      }
    }
    return vertx.executeBlocking(() -> p.protocol.completion(body), false);
  }

  private void settle(Call call, Deployment d, KeyPool.Key key, boolean trial, Outcome outcome, long tookNanos) {
    long now = System.currentTimeMillis();
    Provider p = d.provider;
    call.current = null;
    metrics.modelCall(p.name(), d.label, label(outcome), tookNanos);
    dev.switchboard.observe.EventLog.event("model_call").with("provider", p.name()).with("model", d.label)
        .with("outcome", label(outcome)).with("stream", call.stream()).with("ms", tookNanos / 1_000_000).log();
    Audit.record(vertx, AuditEvent.of(call.request.subject(), "model.call", d.label, label(outcome), "",
        Map.of("duration_ms", tookNanos / 1_000_000), Map.of("provider", p.name())));
    // a long generation that ran out of time after its first token says nothing about the provider
    if (outcome.kind() != Outcome.Kind.CANCELLED && !(call.committed && outcome.kind() != Outcome.Kind.OK)
        && p.live(outcome)) {
      confirmDown.accept(p);
    }
    switch (outcome.kind()) {
      case OK -> {
        d.breaker.success(now, trial);
        p.keys.ok(key);
        ModelProvider.Usage used = call.stream() ? call.usage : call.completion.usage();
        usage.record(d, key, call.request.subject(), used == null ? ModelProvider.Usage.NONE : used);
        if (call.stream()) {
          d.latency(call.ttftNanos / 1e6);
          metrics.timeToFirstToken(p.name(), d.label, call.ttftNanos);
          complete(call);
        } else {
          d.latency(tookNanos / 1e6);
          // a cancel that came while a big answer was parsed on a worker: it is counted, not sent
          boolean cancelled = call.finished;
          complete(call);
          if (cancelled) {
            return;
          }
          UpstreamReply reply = new UpstreamReply(200, "application/json", call.completion.body(), p.name(), d.model,
              call.upstreamNanos);
          if (call.events()) {
            call.send(new CallEvent.Answer(reply));
          } else {
            call.reply.tryComplete(reply);
          }
        }
        return;
      }
      case CANCELLED -> {
        d.breaker.release(trial);
        return;
      }
      case RETRYABLE -> {
        if (call.committed) {
          // the client has part of the answer: count it, and only hold a broken connection against
          // the deployment, not a long generation that ran out of time
          usage.record(d, key, call.request.subject(), call.usage == null ? ModelProvider.Usage.NONE : call.usage);
        }
        if (call.committed && outcome.failure().status() == 504) {
          d.breaker.release(trial);
        } else {
          d.breaker.failure(now, trial);
        }
      }
      case REFUSED -> {
        d.breaker.failure(now, trial);
        call.refused.add(d);
      }
      case RATE_LIMITED -> {
        d.breaker.release(trial);
        p.keys.rateLimited(key, now, outcome.retryAfterMs());
      }
      case KEY_REJECTED -> {
        d.breaker.release(trial);
        p.keys.disable(key, now, outcome.failure());
      }
      case NOT_FOUND -> {
        d.breaker.release(trial);
        call.onlyUntried = true;
      }
      case CONTEXT_LENGTH -> {
        d.breaker.release(trial);
        String bigger = call.chain.get(call.step).contextWindowFallback();
        if (bigger.isEmpty() || call.contextSwitched || !router.isGroup(bigger)) {
          fail(call, outcome.failure());
          return;
        }
        if (call.attempts >= settings.retry().maxAttempts() || now >= call.deadline) {
          fail(call, outcome.failure());
          return;
        }
        metrics.fallback(call.chain.get(call.step).group(), bigger);
        call.contextSwitched = true;
        call.chain = router.chain(bigger);
        call.step = 0;
        call.tried.clear();
        call.last = outcome.failure();
        call.lastKind = outcome.kind();
        next(call);
        return;
      }
      default -> {
        d.breaker.release(trial);
        fail(call, outcome.failure());
        return;
      }
    }
    call.last = outcome.failure();
    call.lastKind = outcome.kind();
    if (call.committed || call.finished) {
      fail(call, outcome.failure());
      return;
    }
    if (call.attempts >= settings.retry().maxAttempts()) {
      fail(call, gaveUp(call, now, false));
      return;
    }
    long delay = delayBefore(call, d, outcome, now);
    if (delay < 0) {
      fail(call, gaveUp(call, now, false));
      return;
    }
    if (now + delay >= call.deadline) {
      fail(call, gaveUp(call, now, true));
      return;
    }
    call.upstreamNanos += delay * 1_000_000;
    if (delay == 0) {
      next(call);
    } else {
      vertx.setTimer(delay, id -> next(call));
    }
  }

  /**
   * How long to wait before the next attempt: nothing when another deployment or key can take it;
   * the key's rest after a 429 when it was the only one; else exponential backoff with full jitter.
   * Negative: nothing will be able to take it.
   */
  private long delayBefore(Call call, Deployment failed, Outcome outcome, long now) {
    Pick peek = pick(call, now);
    if (peek == null) {
      if (outcome.kind() == Outcome.Kind.RATE_LIMITED) {
        return Math.max(1, failed.provider.keys.nextAvailable() - now);
      }
      return -1;
    }
    boolean same = peek.deployment() == failed;
    // another key of the same provider can go at once; a provider without keys has to wait
    boolean keyProblem = (outcome.kind() == Outcome.Kind.RATE_LIMITED || outcome.kind() == Outcome.Kind.KEY_REJECTED)
        && !failed.provider.keys.keyless();
    if (!call.tried.contains(peek.deployment()) || same && keyProblem) {
      return 0;
    }
    if (same && outcome.kind() == Outcome.Kind.RATE_LIMITED && outcome.retryAfterMs() > 0) {
      return outcome.retryAfterMs();
    }
    long base = settings.retry().backoffBase().toMillis();
    long cap = Math.min(settings.retry().backoffMax().toMillis(), base << Math.min(20, call.attempts - 1));
    return ThreadLocalRandom.current().nextLong(cap + 1);
  }

  /** The next deployment: healthy untried first, then unhealthy untried, then (unless told not to) a tried one again. */
  private Pick pick(Call call, long now) {
    Pick unhealthy = null;
    Pick again = null;
    List<String> wanted = call.request.tags();
    for (int i = 0; i < call.chain.size(); i++) {
      Router.Step step = call.chain.get(i);
      for (Deployment d : Router.order(step)) {
        List<String> tags = d.provider.settings.tags();
        if (!tags.containsAll(step.requireTags()) || !tags.containsAll(wanted) || !d.available(now)
            || call.refused.contains(d)) {
          continue;
        }
        boolean untried = !call.tried.contains(d);
        if (untried && d.provider.up()) {
          return new Pick(d, i);
        }
        if (untried && unhealthy == null) {
          unhealthy = new Pick(d, i);
        } else if (!untried && again == null) {
          again = new Pick(d, i);
        }
      }
    }
    if (unhealthy != null) {
      return unhealthy;
    }
    return call.onlyUntried ? null : again;
  }

  /**
   * The failure that ends the retry loop: the last one, with how many attempts over how long, and,
   * when the deadline ended it, that it gave up. Errors the client caused pass as they are.
   */
  private Failure gaveUp(Call call, long now, boolean deadline) {
    Failure last = call.last;
    if (!last.retryable()) {
      return last;
    }
    String tries = call.attempts + (call.attempts == 1 ? " attempt" : " attempts") + " over "
        + String.format(Locale.ROOT, "%.1fs", (now - call.startedMs) / 1000.0);
    String message = deadline
        ? "gave up on '" + call.request.model() + "' after " + tries + " (retry.deadline "
            + Provider.seconds(settings.retry().deadline().toMillis()) + "): " + last.getMessage()
        : last.getMessage() + " (" + tries + ")";
    return new Failure(last.status(), last.type(), last.code(), message);
  }

  /**
   * Why no deployment can take a request that has not reached any: every key refused (502) or
   * resting after rate limits (429), said for each provider; else circuits, full pools and providers
   * that are off (503), each named with its reason.
   */
  private Failure unavailable(Call call, long now) {
    List<String> wanted = call.request.tags();
    List<String> reasons = new ArrayList<>();
    List<Failure> keyRefusals = new ArrayList<>();
    Set<Provider> seen = new HashSet<>();
    boolean onlyKeys = true;
    int candidates = 0;
    // whether the groups' own required tags leave any deployment, and whether one that is off carries the client's
    boolean groupsServe = false;
    boolean offCarries = false;
    for (Router.Step step : call.chain) {
      for (Router.Member m : step.members()) {
        Deployment d = m.deployment();
        List<String> tags = d.provider.settings.tags();
        if (!tags.containsAll(step.requireTags())) {
          continue;
        }
        groupsServe = true;
        if (!tags.containsAll(wanted)) {
          continue;
        }
        candidates++;
        if (d.provider.keys.state(now) != KeyPool.State.OK) {
          if (seen.add(d.provider)) {
            keyRefusals.add(d.provider.keys.refusal(now));
          }
          continue;
        }
        onlyKeys = false;
        String why = d.unavailableBecause(now);
        if (why != null) {
          reasons.add(d.key() + ": " + why);
        }
      }
      if (router.isGroup(step.group())) {
        for (GroupSettings g : settings.groups()) {
          if (!g.name().equals(step.group())) {
            continue;
          }
          for (GroupSettings.DeploymentSettings ds : g.deployments()) {
            for (ProviderSettings ps : settings.providers()) {
              if (ps.name().equals(ds.provider()) && !ps.enabled()) {
                reasons.add(ps.name() + "/" + ds.model() + ": provider off (" + ps.offReason() + ")");
                offCarries |= ps.tags().containsAll(wanted) && ps.tags().containsAll(step.requireTags());
              }
            }
          }
          break;
        }
      } else {
        // a model served directly, not through a group: the providers that are off and serve it
        for (ProviderSettings ps : settings.providers()) {
          if (!ps.enabled() && ps.serves(step.group())) {
            reasons.add(ps.name() + "/" + step.group() + ": provider off (" + ps.offReason() + ")");
            offCarries |= ps.tags().containsAll(wanted);
          }
        }
      }
    }
    if (candidates == 0 && !wanted.isEmpty() && groupsServe && !offCarries) {
      // no deployment carries them at all (not one that is off, nor one the group's own required
      // tags leave out): waiting will not help, so it is the request's error
      return Failure.badRequest("no_deployment", "no deployment of '" + call.request.model()
          + "' carries the tags " + shown(wanted) + " (header x-switchboard-tags)");
    }
    if (candidates > 0 && onlyKeys && reasons.isEmpty()) {
      if (keyRefusals.size() == 1) {
        return keyRefusals.get(0);
      }
      boolean allRefused = keyRefusals.stream().allMatch(f -> f.status() == 502);
      List<String> each = keyRefusals.stream().map(Failure::getMessage).toList();
      return allRefused
          ? Failure.badGateway("upstream_auth_failed", "no deployment of '" + call.request.model() + "' can be used: "
              + String.join("; ", each))
          : new Failure(429, "rate_limit_error", "keys_resting", "no deployment of '" + call.request.model()
              + "' has a key free: " + String.join("; ", each));
    }
    keyRefusals.forEach(f -> reasons.add(f.getMessage()));
    if (reasons.isEmpty()) {
      return Failure.unavailable("no_deployment", "no deployment of '" + call.request.model()
          + "' is available (circuits open, keys resting, or connection pools full); try again shortly");
    }
    return Failure.unavailable("no_deployment", "no deployment of '" + call.request.model() + "' is available: "
        + String.join("; ", reasons));
  }

  private static final int SHOWN_TAGS = 5;
  private static final int SHOWN_TAG_CHARS = 32;

  /** The client's tags as an error may echo them: a few, cut short, anything but a plain name replaced. */
  static String shown(List<String> tags) {
    StringBuilder out = new StringBuilder("[");
    for (int i = 0; i < Math.min(SHOWN_TAGS, tags.size()); i++) {
      String t = tags.get(i);
      out.append(i == 0 ? "" : ", ");
      for (int c = 0; c < Math.min(SHOWN_TAG_CHARS, t.length()); c++) {
        char ch = t.charAt(c);
        out.append(ch < 128 && (Character.isLetterOrDigit(ch) || ch == '-' || ch == '_' || ch == '.' || ch == ':') ? ch : '?');
      }
      if (t.length() > SHOWN_TAG_CHARS) {
        out.append("...");
      }
    }
    if (tags.size() > SHOWN_TAGS) {
      out.append(", and ").append(tags.size() - SHOWN_TAGS).append(" more");
    }
    return out.append(']').toString();
  }

  private void complete(Call call) {
    call.finished = true;
    if (call.id != null) {
      calls.remove(call.id);
    }
  }

  /** Ends a call with {@code failure}, unless it has already ended (a cancel, an answer): it is said once. */
  private void fail(Call call, Failure failure) {
    if (call.finished) {
      return;
    }
    complete(call);
    if (call.events()) {
      call.send(new CallEvent.Failed(failure));
    } else {
      call.reply.tryFail(failure);
    }
  }

  private static String label(Outcome o) {
    return switch (o.kind()) {
      case OK -> "ok";
      case CANCELLED -> "cancelled";
      case RATE_LIMITED -> "rate_limited";
      case KEY_REJECTED -> "key_rejected";
      case REFUSED -> "refused";
      case RETRYABLE -> o.failure() != null && o.failure().status() == 504 ? "timeout" : "error";
      default -> "client_error";
    };
  }

  private static String reason(Outcome.Kind kind) {
    return kind == null ? "unknown" : kind.name().toLowerCase();
  }
}
