package dev.switchboard.observe;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.Vertx;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.spi.metrics.ClientMetrics;
import io.vertx.core.spi.metrics.DatagramSocketMetrics;
import io.vertx.core.spi.metrics.EventBusMetrics;
import io.vertx.core.spi.metrics.HttpClientMetrics;
import io.vertx.core.spi.metrics.HttpServerMetrics;
import io.vertx.core.spi.metrics.PoolMetrics;
import io.vertx.core.spi.metrics.TCPMetrics;
import io.vertx.core.spi.metrics.VertxMetrics;
import io.vertx.core.spi.observability.HttpRequest;
import io.vertx.core.spi.observability.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * The request meters of the HTTP server: the names, labels, descriptions and counting rules of
 * vertx-micrometer-metrics 5.0 ({@code vertx_http_server_requests_total},
 * {@code _response_time_seconds}, {@code _response_bytes} by code, method and route;
 * {@code _request_bytes}, {@code _active_requests}, {@code _request_resets_total} by method), with
 * every meter found once per method, route and status instead of per request.
 *
 * <p>Why: vertx-micrometer builds its tags and looks its meters up in the registry on every
 * request (four {@code Tags.and}, four new meter ids, a gauge registered again, a timer sample),
 * which cost an eighth of the proxy's requests/s on one core. Connection-level meters (open
 * connections, bytes, errors, websockets) stay Micrometer's own: they are per connection.
 *
 * <p>Label values stay bounded as before: a method outside the standard ones is counted as
 * {@value LabelBounds#OTHER} (and keyed so here, or a client could grow the cache), routes are the
 * router's names, and status codes are the server's own.
 */
final class HttpServerMeters implements HttpServerMetrics<HttpServerMeters.Request, Object, Object> {

  private final HttpServerMetrics<Object, Object, Object> connections;
  private final Meters meters;

  private HttpServerMeters(HttpServerMetrics<Object, Object, Object> connections, Meters meters) {
    this.connections = connections;
    this.meters = meters;
  }

  /** Micrometer's Vert.x metrics with the HTTP server's request meters replaced by these. */
  static VertxMetrics around(VertxMetrics micrometer, MeterRegistry registry) {
    return new WithServerMeters(micrometer, new Meters(registry));
  }

  @Override
  public Request requestBegin(Object socketMetric, HttpRequest request) {
    return begin(request.method());
  }

  @Override
  public Request responsePushed(Object socketMetric, HttpMethod method, String uri, HttpResponse response) {
    return begin(method);
  }

  private Request begin(HttpMethod method) {
    ByMethod byMethod = meters.method(method);
    byMethod.active.increment();
    return new Request(byMethod, System.nanoTime());
  }

  @Override
  public void requestRouted(Request request, String route) {
    request.addRoute(route);
  }

  @Override
  public void requestEnd(Request request, HttpRequest ignored, long bytesRead) {
    request.method.requestBytes().record(bytesRead);
    request.requestEnded = true;
    if (!request.reset && request.responseEnded) {
      request.method.active.decrement();
    }
  }

  @Override
  public void responseEnd(Request request, HttpResponse response, long bytesWritten) {
    ByResponse byResponse = request.method.route(request.route()).status(response.statusCode());
    byResponse.requests.increment();
    byResponse.time.record(System.nanoTime() - request.start, TimeUnit.NANOSECONDS);
    byResponse.bytes.record(bytesWritten);
    request.responseEnded = true;
    if (!request.reset && request.requestEnded) {
      request.method.active.decrement();
    }
  }

  @Override
  public void requestReset(Request request) {
    request.method.resets().increment();
    request.method.active.decrement();
    request.reset = true;
  }

  @Override
  public Object connected(SocketAddress remoteAddress, String remoteName) {
    return connections.connected(remoteAddress, remoteName);
  }

  @Override
  public void disconnected(Object socketMetric, SocketAddress remoteAddress) {
    connections.disconnected(socketMetric, remoteAddress);
  }

  @Override
  public void bytesRead(Object socketMetric, SocketAddress remoteAddress, long numberOfBytes) {
    connections.bytesRead(socketMetric, remoteAddress, numberOfBytes);
  }

  @Override
  public void bytesWritten(Object socketMetric, SocketAddress remoteAddress, long numberOfBytes) {
    connections.bytesWritten(socketMetric, remoteAddress, numberOfBytes);
  }

  @Override
  public void exceptionOccurred(Object socketMetric, SocketAddress remoteAddress, Throwable t) {
    connections.exceptionOccurred(socketMetric, remoteAddress, t);
  }

  /** Micrometer's websocket gauge reads only the connection's tags, not its request's. */
  @Override
  public Object connected(Object socketMetric, Request request, ServerWebSocket webSocket) {
    return connections.connected(socketMetric, null, webSocket);
  }

  @Override
  public void disconnected(Object webSocketMetric) {
    connections.disconnected(webSocketMetric);
  }

  @Override
  public void close() {
    connections.close();
  }

  /** One request on its connection's event loop. */
  static final class Request {
    private final ByMethod method;
    private final long start;
    /** One route's name, or a list of them when sub-routers matched in turn (joined with {@code >}). */
    private Object routes;
    private boolean requestEnded;
    private boolean responseEnded;
    private boolean reset;

    private Request(ByMethod method, long start) {
      this.method = method;
      this.start = start;
    }

    @SuppressWarnings("unchecked")
    private void addRoute(String route) {
      if (route == null) {
        return;
      }
      if (routes == null) {
        routes = route;
      } else if (routes instanceof List) {
        ((List<String>) routes).add(route);
      } else {
        List<String> several = new ArrayList<>(4);
        several.add((String) routes);
        several.add(route);
        routes = several;
      }
    }

    @SuppressWarnings("unchecked")
    private String route() {
      if (routes == null) {
        return "";
      }
      return routes instanceof String one ? one : String.join(">", (List<String>) routes);
    }
  }

  /**
   * The meters of one registry, shared by every HTTP server of a Vert.x: the active-requests
   * gauge reads one adder per method, and a second server registering the same gauge would get
   * the first one's back and count into an adder that nothing reads.
   */
  private static final class Meters {
    private final MeterRegistry registry;
    private final ConcurrentHashMap<String, ByMethod> methods = new ConcurrentHashMap<>();

    Meters(MeterRegistry registry) {
      this.registry = registry;
    }

    ByMethod method(HttpMethod method) {
      String label = LabelBounds.httpMethod(method.name());
      ByMethod found = methods.get(label);
      return found != null ? found : methods.computeIfAbsent(label, m -> new ByMethod(registry, m));
    }
  }

  private static final class ByMethod {
    private final MeterRegistry registry;
    private final String method;
    private final LongAdder active = new LongAdder();
    private final ConcurrentHashMap<String, ByRoute> routes = new ConcurrentHashMap<>();
    // registered when first used, as Micrometer's were: no series until a request has one
    private volatile DistributionSummary requestBytes;
    private volatile Counter resets;

    ByMethod(MeterRegistry registry, String method) {
      this.registry = registry;
      this.method = method;
      Gauge.builder("vertx.http.server.active.requests", active, LongAdder::doubleValue)
          .description("Number of requests being processed")
          .tag("method", method)
          .register(registry);
    }

    DistributionSummary requestBytes() {
      DistributionSummary summary = requestBytes;
      if (summary == null) {
        summary = DistributionSummary.builder("vertx.http.server.request.bytes")
            .description("Size of requests in bytes").tag("method", method).register(registry);
        requestBytes = summary;
      }
      return summary;
    }

    Counter resets() {
      Counter counter = resets;
      if (counter == null) {
        counter = Counter.builder("vertx.http.server.request.resets")
            .description("Number of request resets").tag("method", method).register(registry);
        resets = counter;
      }
      return counter;
    }

    ByRoute route(String route) {
      ByRoute found = routes.get(route);
      return found != null ? found : routes.computeIfAbsent(route, r -> new ByRoute(this, r));
    }
  }

  private static final class ByRoute {
    private static final int FIRST = 100;
    private static final int LAST = 599;

    private final ByMethod method;
    private final String route;
    private final AtomicReferenceArray<ByResponse> statuses = new AtomicReferenceArray<>(LAST - FIRST + 1);
    /** A status outside 100–599: Vert.x lets a handler set any code. */
    private final ConcurrentHashMap<Integer, ByResponse> unusual = new ConcurrentHashMap<>();

    ByRoute(ByMethod method, String route) {
      this.method = method;
      this.route = route;
    }

    ByResponse status(int code) {
      if (code < FIRST || code > LAST) {
        return unusual.computeIfAbsent(code, this::meters);
      }
      ByResponse found = statuses.get(code - FIRST);
      if (found == null) {
        // two loops racing here register the same meters and get the same instances back
        found = meters(code);
        statuses.set(code - FIRST, found);
      }
      return found;
    }

    private ByResponse meters(int code) {
      return new ByResponse(method.registry, String.valueOf(code), method.method, route);
    }
  }

  private static final class ByResponse {
    final Counter requests;
    final Timer time;
    final DistributionSummary bytes;

    ByResponse(MeterRegistry registry, String code, String method, String route) {
      requests = Counter.builder("vertx.http.server.requests").description("Number of processed requests")
          .tags("code", code, "method", method, "route", route).register(registry);
      time = Timer.builder("vertx.http.server.response.time").description("Request processing time")
          .tags("code", code, "method", method, "route", route).register(registry);
      bytes = DistributionSummary.builder("vertx.http.server.response.bytes").description("Size of responses in bytes")
          .tags("code", code, "method", method, "route", route).register(registry);
    }
  }

  /** Every call goes to Micrometer's, except that an HTTP server's request meters are ours. */
  private static final class WithServerMeters implements VertxMetrics {
    private final VertxMetrics micrometer;
    private final Meters meters;

    WithServerMeters(VertxMetrics micrometer, Meters meters) {
      this.micrometer = micrometer;
      this.meters = meters;
    }

    @Override
    @SuppressWarnings("unchecked")
    public HttpServerMetrics<?, ?, ?> createHttpServerMetrics(HttpServerOptions options, SocketAddress localAddress) {
      HttpServerMetrics<?, ?, ?> connections = micrometer.createHttpServerMetrics(options, localAddress);
      return connections == null ? null : new HttpServerMeters((HttpServerMetrics<Object, Object, Object>) connections, meters);
    }

    @Override
    public EventBusMetrics createEventBusMetrics() {
      return micrometer.createEventBusMetrics();
    }

    @Override
    public ClientMetrics<?, ?, ?> createClientMetrics(SocketAddress remoteAddress, String type, String namespace) {
      return micrometer.createClientMetrics(remoteAddress, type, namespace);
    }

    @Override
    public HttpClientMetrics<?, ?, ?> createHttpClientMetrics(HttpClientOptions options) {
      return micrometer.createHttpClientMetrics(options);
    }

    @Override
    public TCPMetrics<?> createNetServerMetrics(NetServerOptions options, SocketAddress localAddress) {
      return micrometer.createNetServerMetrics(options, localAddress);
    }

    @Override
    public TCPMetrics<?> createNetClientMetrics(NetClientOptions options) {
      return micrometer.createNetClientMetrics(options);
    }

    @Override
    public DatagramSocketMetrics createDatagramSocketMetrics(DatagramSocketOptions options) {
      return micrometer.createDatagramSocketMetrics(options);
    }

    @Override
    public PoolMetrics<?, ?> createPoolMetrics(String poolType, String poolName, int maxPoolSize) {
      return micrometer.createPoolMetrics(poolType, poolName, maxPoolSize);
    }

    @Override
    public void vertxCreated(Vertx vertx) {
      micrometer.vertxCreated(vertx);
    }

    @Override
    public boolean isMetricsEnabled() {
      return micrometer.isMetricsEnabled();
    }

    @Override
    public void close() {
      micrometer.close();
    }
  }
}
