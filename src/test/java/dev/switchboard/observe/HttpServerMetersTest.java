package dev.switchboard.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.NetSocket;
import io.vertx.core.spi.metrics.VertxMetrics;
import io.vertx.ext.web.Router;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What a request leaves in the HTTP server meters, recorded by {@link HttpServerMeters} on a real Vert.x server. */
@DisplayName("HTTP server request meters")
class HttpServerMetersTest {

  private PrometheusMeterRegistry registry;
  private Vertx vertx;
  private HttpClient client;

  @BeforeEach
  void start() throws Exception {
    registry = Exposition.newRegistry();
    vertx = Vertx.builder().with(new VertxOptions().setMetricsOptions(Exposition.options()))
        .withMetrics(Exposition.factory(registry)).build();
    client = vertx.createHttpClient();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().await();
    registry.close();
  }

  private int serve(Router router) {
    return vertx.createHttpServer().requestHandler(router).listen(0, "127.0.0.1").await().actualPort();
  }

  private int send(int port, HttpMethod method, String path, String body) throws Exception {
    return client.request(method, port, "127.0.0.1", path)
        .compose(r -> r.send(body).compose(response -> response.body().map(b -> response.statusCode())))
        .await(10, TimeUnit.SECONDS);
  }

  private Set<String> series(String name) {
    return registry.find(name).meters().stream().map(HttpServerMetersTest::tags).collect(Collectors.toCollection(TreeSet::new));
  }

  private static String tags(Meter meter) {
    return meter.getId().getTags().stream().map(t -> t.getKey() + "=" + t.getValue()).collect(Collectors.joining(","));
  }

  private static void eventually(BooleanSupplier condition, String what) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within 5 s: " + what);
      }
      Thread.sleep(10);
    }
  }

  private double active(String method) {
    Gauge gauge = registry.find("vertx.http.server.active.requests").tag("method", method).gauge();
    return gauge == null ? 0 : gauge.value();
  }

  @Test
  @DisplayName("a request is counted and timed by status, method and route, with its request and response sizes")
  void countedByStatusMethodAndRoute() throws Exception {
    Router router = Router.router(vertx);
    router.post("/v1/echo").handler(ctx -> ctx.request().body().onSuccess(b -> ctx.response().setStatusCode(201).end(b)));
    int port = serve(router);
    assertEquals(201, send(port, HttpMethod.POST, "/v1/echo", "hello"));
    assertEquals(201, send(port, HttpMethod.POST, "/v1/echo", "hi"));

    Counter requests = registry.find("vertx.http.server.requests").tags("code", "201", "method", "POST", "route", "/v1/echo").counter();
    assertNotNull(requests, series("vertx.http.server.requests").toString());
    assertEquals(2.0, requests.count());
    Timer time = registry.find("vertx.http.server.response.time").tags("code", "201", "method", "POST", "route", "/v1/echo").timer();
    assertEquals(2, time.count());
    assertTrue(time.totalTime(TimeUnit.NANOSECONDS) > 0);
    DistributionSummary out = registry.find("vertx.http.server.response.bytes").tags("code", "201", "route", "/v1/echo").summary();
    assertEquals(2, out.count());
    assertTrue(out.totalAmount() >= 7, "the bodies' 7 bytes and the headers: " + out.totalAmount());
    DistributionSummary in = registry.find("vertx.http.server.request.bytes").tags("method", "POST").summary();
    assertEquals(7.0, in.totalAmount());
    assertEquals(0.0, active("POST"));
  }

  @Test
  @DisplayName("a status has its own series, and a request no route names has route=\"\"")
  void oneSeriesPerStatus() throws Exception {
    Router router = Router.router(vertx);
    router.get("/a").handler(ctx -> ctx.response().setStatusCode(Integer.parseInt(ctx.queryParam("s").get(0))).end());
    int port = serve(router);
    send(port, HttpMethod.GET, "/a?s=200", "");
    send(port, HttpMethod.GET, "/a?s=503", "");
    send(port, HttpMethod.GET, "/a?s=503", "");
    send(port, HttpMethod.GET, "/a?s=999", "");
    send(port, HttpMethod.GET, "/none", "");
    assertEquals(Set.of("code=200,method=GET,route=/a", "code=503,method=GET,route=/a", "code=999,method=GET,route=/a",
        "code=404,method=GET,route="), series("vertx.http.server.requests"));
    assertEquals(2.0, registry.find("vertx.http.server.requests").tags("code", "503").counter().count());
  }

  @Test
  @DisplayName("methods outside the standard ones are all method=\"other\"")
  void unknownMethodsAreOther() throws Exception {
    Router router = Router.router(vertx);
    router.route("/x").handler(ctx -> ctx.response().end());
    int port = serve(router);
    for (String name : new String[] {"FOO", "BAR", "PROPFIND", "GET"}) {
      send(port, HttpMethod.valueOf(name), "/x", "");
    }
    assertEquals(Set.of("code=200,method=GET,route=/x", "code=200,method=other,route=/x"), series("vertx.http.server.requests"));
    assertEquals(3.0, registry.find("vertx.http.server.requests").tags("method", "other").counter().count());
    assertEquals(Set.of("method=GET", "method=other"), series("vertx.http.server.active.requests"));
  }

  @Test
  @DisplayName("a request in flight is active until its response ends, on whichever server of the Vert.x it came to")
  void activeWhileInFlight() throws Exception {
    Promise<HttpServerRequest> held = Promise.promise();
    Router quick = Router.router(vertx);
    quick.get("/q").handler(ctx -> ctx.response().end());
    int first = serve(quick);
    HttpServer second = vertx.createHttpServer().requestHandler(held::tryComplete);
    int port = second.listen(0, "127.0.0.1").await().actualPort();
    send(first, HttpMethod.GET, "/q", "");

    var answer = client.request(HttpMethod.GET, port, "127.0.0.1", "/slow").compose(r -> r.send());
    HttpServerRequest request = held.future().await(10, TimeUnit.SECONDS);
    assertEquals(1.0, active("GET"));
    request.response().end();
    answer.await(10, TimeUnit.SECONDS);
    eventually(() -> active("GET") == 0.0, "GET no longer active");
  }

  @Test
  @DisplayName("a client that goes away mid-request counts a reset and leaves nothing active")
  void aResetIsCounted() throws Exception {
    Promise<Void> begun = Promise.promise();
    int port = vertx.createHttpServer().requestHandler(request -> {
      request.handler(chunk -> begun.tryComplete());
      request.exceptionHandler(e -> { });
    }).listen(0, "127.0.0.1").await().actualPort();
    NetSocket socket = vertx.createNetClient().connect(port, "127.0.0.1").await(10, TimeUnit.SECONDS);
    socket.write(Buffer.buffer("POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789"));
    begun.future().await(10, TimeUnit.SECONDS);
    assertEquals(1.0, active("POST"));
    socket.close();
    eventually(() -> registry.find("vertx.http.server.request.resets").counter() != null, "a reset counted");
    assertEquals(1.0, registry.find("vertx.http.server.request.resets").tags("method", "POST").counter().count());
    assertEquals(0.0, active("POST"));
  }

  @Test
  @DisplayName("connections are still counted by Micrometer's own meters")
  void connectionsStillCounted() throws Exception {
    Router router = Router.router(vertx);
    router.get("/c").handler(ctx -> ctx.response().end("ok"));
    int port = serve(router);
    send(port, HttpMethod.GET, "/c", "");
    assertTrue(registry.find("vertx.http.server.bytes.written").counter().count() > 0);
    assertNotNull(registry.find("vertx.http.server.active.connections").gauge());
  }

  /** An upgrade that adds a method to VertxMetrics would otherwise fall to its default and drop Micrometer's meters. */
  @Test
  @DisplayName("the Vert.x metrics wrapper hands every VertxMetrics method on")
  void everyVertxMetricsMethodIsHandedOn() throws Exception {
    VertxMetrics wrapped = HttpServerMeters.around(new VertxMetrics() { }, registry);
    Map<String, Method> declared = Arrays.stream(wrapped.getClass().getDeclaredMethods())
        .collect(Collectors.toMap(m -> m.getName() + Arrays.toString(m.getParameterTypes()), m -> m, (a, b) -> a));
    for (Class<?> type : new Class<?>[] {VertxMetrics.class, io.vertx.core.spi.metrics.Metrics.class, io.vertx.core.metrics.Measured.class}) {
      for (Method m : type.getDeclaredMethods()) {
        if (Modifier.isStatic(m.getModifiers())) {
          continue;
        }
        assertTrue(declared.containsKey(m.getName() + Arrays.toString(m.getParameterTypes())),
            wrapped.getClass().getSimpleName() + " does not override " + type.getSimpleName() + "." + m.getName());
      }
    }
  }
}
