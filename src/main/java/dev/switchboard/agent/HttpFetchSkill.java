package dev.switchboard.agent;

import dev.switchboard.security.OutboundGuard;
import dev.switchboard.security.OutboundGuard.Target;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

/**
 * GET or POST to a host in the allow list, and nowhere else: the model's arguments are not trusted.
 * The name is then resolved and every address checked by the {@link OutboundGuard}: private,
 * loopback, link-local (the cloud metadata address 169.254.169.254), unique-local and unspecified
 * addresses are refused unless {@code security.outbound.allow} allows them or that address itself
 * is listed here, so allowing a name here never lets it point inside. The request then goes to the
 * checked address (the name stays in the Host header and TLS SNI), so a second lookup cannot swap
 * it (DNS rebinding). Redirects are reported, not followed: the target would escape the check.
 */
final class HttpFetchSkill implements Skill {

  static final int MAX_BYTES = 256 * 1024;
  static final long TIMEOUT_MS = 10_000;

  /** Null: the allow list is the one {@link AgentSettings} installed in the calling Vert.x. */
  private final Set<String> fixed;
  private final int maxBytes;
  private final long timeoutMs;

  /** The registry's: reads {@code agent.http_fetch.allow} as installed in the run's Vert.x. */
  HttpFetchSkill() {
    this.fixed = null;
    this.maxBytes = MAX_BYTES;
    this.timeoutMs = TIMEOUT_MS;
  }

  /** {@code allow}: host names, {@code *.domain} for its subdomains, or IP addresses; empty refuses everything. */
  HttpFetchSkill(List<String> allow) {
    this(allow, MAX_BYTES, TIMEOUT_MS);
  }

  HttpFetchSkill(List<String> allow, int maxBytes, long timeoutMs) {
    this.fixed = normalised(allow);
    this.maxBytes = maxBytes;
    this.timeoutMs = timeoutMs;
  }

  private static Set<String> normalised(List<String> allow) {
    return allow.stream().map(h -> unbracket(h.trim().toLowerCase(Locale.ROOT))).filter(h -> !h.isEmpty())
        .collect(Collectors.toUnmodifiableSet());
  }

  @Override
  public String name() {
    return "http_fetch";
  }

  @Override
  public String description() {
    return "HTTP GET or POST to an allowed host; answers the status, content type and body (cut at " + MAX_BYTES / 1024
        + " KB). Redirects are reported, not followed.";
  }

  @Override
  public JsonObject parameters() {
    return new JsonObject().put("type", "object").put("properties", new JsonObject()
            .put("url", new JsonObject().put("type", "string").put("description", "http:// or https:// URL"))
            .put("method", new JsonObject().put("type", "string").put("enum", new JsonArray().add("GET").add("POST")))
            .put("body", new JsonObject().put("type", "string").put("description", "request body for POST"))
            .put("headers", new JsonObject().put("type", "object").put("additionalProperties", new JsonObject().put("type", "string"))))
        .put("required", new JsonArray().add("url"));
  }

  @Override
  public Future<String> run(SkillCall call) {
    JsonObject args = call.arguments();
    Target target;
    try {
      target = OutboundGuard.target(args.getValue("url") instanceof String s ? s : "");
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(e.getMessage().replace("can be called", "can be fetched"));
    }
    String method = args.getValue("method") instanceof String m ? m.trim().toUpperCase(Locale.ROOT) : "GET";
    if (!method.equals("GET") && !method.equals("POST")) {
      return Future.failedFuture("method must be GET or POST, not " + method);
    }
    Set<String> allow = fixed != null ? fixed : normalised(AgentSettings.httpFetchAllow(call.vertx()));
    if (!allowedHost(allow, target.host())) {
      return Future.failedFuture(allow.isEmpty()
          ? "http_fetch allows no host yet: list the hosts the agent may fetch under agent.http_fetch.allow in switchboard.yaml"
          : "host '" + target.host() + "' is not allowed (add it to agent.http_fetch.allow in switchboard.yaml)");
    }
    Vertx vertx = call.vertx();
    // the outbound guard decides which addresses are reachable; an address listed here counts as allowed too
    OutboundGuard guard = OutboundGuard.in(vertx).plus(allow.stream().filter(OutboundGuard::isAddress).toList());
    return guard.check(vertx, target.host())
        .compose(address -> fetch(vertx, target, address, method, args));
  }

  static boolean allowedHost(Set<String> allow, String host) {
    if (allow.contains(host)) {
      return true;
    }
    return allow.stream().anyMatch(a -> a.startsWith("*.") && host.endsWith(a.substring(1)));
  }

  private Future<String> fetch(Vertx vertx, Target target, InetAddress address, String method, JsonObject args) {
    HttpClient client = vertx.createHttpClient(new HttpClientOptions().setMaxRedirects(0)
        .setConnectTimeout((int) Math.min(timeoutMs, Integer.MAX_VALUE)).setVerifyHost(true).setForceSni(true));
    String path = target.uri().getRawPath() == null || target.uri().getRawPath().isEmpty() ? "/" : target.uri().getRawPath();
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.valueOf(method)).setSsl(target.tls())
        .setHost(target.host()).setPort(target.port())
        .setServer(SocketAddress.inetSocketAddress(target.port(), address.getHostAddress()))
        .setURI(target.uri().getRawQuery() == null ? path : path + "?" + target.uri().getRawQuery())
        .setFollowRedirects(false);
    if (args.getValue("headers") instanceof JsonObject headers) {
      headers.forEach(e -> {
        if (e.getValue() != null && !"host".equalsIgnoreCase(e.getKey())) {
          options.putHeader(e.getKey(), String.valueOf(e.getValue()));
        }
      });
    }
    String body = args.getValue("body") instanceof String s ? s : null;
    Promise<String> answer = Promise.promise();
    long timer = vertx.setTimer(timeoutMs, id -> answer.tryFail("no complete answer within " + timeoutMs + " ms"));
    client.request(options)
        .compose(request -> {
          answer.future().onComplete(done -> request.reset());
          return "POST".equals(method) && body != null ? request.send(body) : request.send();
        })
        .onSuccess(response -> read(response, answer))
        .onFailure(e -> answer.tryFail(target.host() + ": " + why(e)));
    return answer.future().onComplete(done -> {
      vertx.cancelTimer(timer);
      client.close();
    });
  }

  /** The failure in words the model can act on: a TLS refusal says so, with the check that failed. */
  static String why(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof javax.net.ssl.SSLException) {
        Throwable root = t;
        while (root.getCause() != null) {
          root = root.getCause();
        }
        return "TLS refused: the server's certificate is not trusted or does not name the host (" + root.getMessage() + ")";
      }
    }
    return e.getMessage() != null ? e.getMessage() : e.toString();
  }

  /** The status line, type (and Location for a redirect), then the body up to the limit. */
  private void read(HttpClientResponse response, Promise<String> answer) {
    StringBuilder head = new StringBuilder("HTTP ").append(response.statusCode()).append(' ')
        .append(response.statusMessage()).append('\n');
    String type = response.getHeader("content-type");
    if (type != null) {
      head.append("content-type: ").append(type).append('\n');
    }
    if (response.statusCode() >= 300 && response.statusCode() < 400) {
      head.append("redirect (not followed) to: ").append(response.getHeader("location")).append('\n');
    }
    head.append('\n');
    Buffer body = Buffer.buffer();
    AtomicBoolean cut = new AtomicBoolean();
    response.handler(chunk -> {
      if (cut.get()) {
        return;
      }
      int room = maxBytes - body.length();
      if (chunk.length() > room) {
        body.appendBuffer(chunk, 0, room);
        cut.set(true);
        // stop here: the rest is not wanted, and reading it would spend the time limit
        answer.tryComplete(head + body.toString(StandardCharsets.UTF_8) + cutMarker());
      } else {
        body.appendBuffer(chunk);
      }
    });
    response.endHandler(v -> answer.tryComplete(head + body.toString(StandardCharsets.UTF_8)));
    response.exceptionHandler(e -> answer.tryFail("reading the answer failed: " + e.getMessage()));
  }

  private String cutMarker() {
    return "\n[cut: the body is longer than " + maxBytes + " bytes]";
  }

  private static String unbracket(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }
}
