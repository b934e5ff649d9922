package dev.switchboard.mcp;

import dev.switchboard.agent.SkillRegistry;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.client.McpClient;
import io.modelcontextprotocol.client.transport.HttpClientStreamableHttpTransport;
import io.modelcontextprotocol.client.transport.ServerParameters;
import io.modelcontextprotocol.client.transport.StdioClientTransport;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.spec.McpClientTransport;
import io.modelcontextprotocol.spec.McpSchema;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.io.File;
import java.lang.reflect.Field;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;
import reactor.core.publisher.Mono;

/**
 * One configured MCP server, kept connected: connect, list the tools, register them as skills;
 * when the server goes away (its process exits, a ping fails) the skills become unavailable and
 * a new connection is tried after 1 s, doubling to 30 s, until one lists the tools again (the
 * delay starts at 1 s again once a connection has lived 30 s). Every
 * attempt is a fresh client (and, for stdio, a fresh process), so nothing of a broken session is
 * reused.
 *
 * <p>All state changes on the verticle's context; the SDK's callbacks arrive on Reactor threads and
 * are sent there. {@link #client()} is read by the skills from any thread.
 */
final class McpClientConnection {

  private static final Logger LOG = Logger.getLogger(McpClientConnection.class.getName());
  static final Duration FIRST_RETRY = Duration.ofSeconds(1);
  static final Duration MAX_RETRY = Duration.ofSeconds(30);
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
  private static final Duration MIN_INIT = Duration.ofSeconds(30);

  private final Vertx vertx;
  private final Context context;
  private final McpSettings.Server server;
  private final SkillRegistry registry;
  private final McpJsonMapper json;

  /** A client and the transport under it (the SDK does not hand the transport back). */
  private record Link(McpAsyncClient client, McpClientTransport transport) {
  }

  private volatile McpAsyncClient client;
  private Link link;
  private Link pending;
  private List<String> names = List.of();
  private Process process;
  // the server's process tree as connected: a wrapper (npx) that is ended alone can leave its child running
  private List<ProcessHandle> family = List.of();
  private Future<Void> inFlight = Future.succeededFuture();
  private long generation;
  private boolean connected;
  private boolean downLogged;
  private boolean stopped;
  private Duration backoff = FIRST_RETRY;
  private long connectedAt;
  private long pingTimer = -1;
  private long retryTimer = -1;

  McpClientConnection(Vertx vertx, Context context, McpSettings.Server server, SkillRegistry registry, McpJsonMapper json) {
    this.vertx = vertx;
    this.context = context;
    this.server = server;
    this.registry = registry;
    this.json = json;
  }

  /** The live client, or null while the server is away. */
  McpAsyncClient client() {
    return client;
  }

  /** Starts connecting; never fails: a server that is down is retried in the background. */
  void start() {
    attempt();
  }

  private void attempt() {
    retryTimer = -1;
    if (stopped) {
      return;
    }
    long attempt = ++generation;
    Future<Link> made = vertx.executeBlocking(() -> newClient(attempt), false);
    inFlight = made.compose(fresh -> {
      pending = fresh;
      return step(attempt, () -> initialize(fresh.client())).compose(v -> step(attempt, () -> listTools(fresh.client())));
    }).transform(ar -> {
      Link fresh = made.result();
      if (pending == fresh) {
        pending = null;
      }
      if (ar.succeeded() && !stopped && attempt == generation) {
        connected(attempt, fresh, ar.result());
        return Future.succeededFuture();
      }
      // failed, or overtaken by a stop: whatever this attempt opened is closed, its process included
      Future<Void> closed = fresh == null ? Future.succeededFuture() : close(fresh, List.of());
      if (ar.failed()) {
        failed(attempt, reason(ar.cause()));
      }
      return closed;
    });
  }

  /**
   * The next step of an attempt, unless a stop (or a newer attempt) came first: a client closed
   * under it would open a new session, and for stdio a new process, on its next request.
   */
  private <T> Future<T> step(long attempt, Supplier<Future<T>> next) {
    return stopped || attempt != generation ? Future.failedFuture("stopped") : next.get();
  }

  private Future<McpSchema.InitializeResult> initialize(McpAsyncClient fresh) {
    return Future.fromCompletionStage(fresh.initialize().toFuture(), context);
  }

  private Future<List<McpSchema.Tool>> listTools(McpAsyncClient fresh) {
    // the SDK's listTools() follows nextCursor to the last page
    return Future.fromCompletionStage(fresh.listTools().toFuture(), context).map(McpSchema.ListToolsResult::tools);
  }

  /** Runs on a worker: the stdio transport starts threads, and creating either transport may touch the network stack. */
  private Link newClient(long attempt) {
    McpClientTransport transport;
    if (server.stdio()) {
      // the SDK reports a command that cannot start only through its initialization timeout; say it now
      executable(server.command(), server.env().getOrDefault("PATH", System.getenv("PATH")));
      StdioClientTransport stdio = new IsolatedStdioTransport(ServerParameters.builder(server.command())
          .args(server.args()).env(server.env()).build(), json);
      stdio.setStdErrorHandler(line -> LOG.fine(() -> "mcp server " + server.name() + " stderr: " + line));
      transport = stdio;
    } else {
      transport = HttpClientStreamableHttpTransport.builder(server.url())
          .jsonMapper(json)
          .connectTimeout(server.timeout())
          // a redirect would lead past the outbound check of the configured URL
          .customizeClient(b -> b.connectTimeout(server.timeout()).followRedirects(java.net.http.HttpClient.Redirect.NEVER))
          .requestBuilder(headers(HttpRequest.newBuilder()))
          .build();
    }
    return new Link(McpClient.async(transport)
        .requestTimeout(server.timeout())
        // a process may take a while to start (npx fetching a package): the call timeout is not its limit
        .initializationTimeout(server.timeout().compareTo(MIN_INIT) > 0 ? server.timeout() : MIN_INIT)
        .clientInfo(new McpSchema.Implementation("switchboard", version()))
        .toolsChangeConsumer(tools -> {
          context.runOnContext(v -> toolsChanged(attempt, tools));
          return Mono.empty();
        })
        .build(), transport);
  }

  /** Fails unless {@code command} is an executable file, given as a path or found on {@code path}. */
  static void executable(String command, String path) {
    if (command.contains("/")) {
      if (!Files.isExecutable(Path.of(command))) {
        throw new IllegalStateException("command " + command + " is not an executable file");
      }
      return;
    }
    for (String dir : (path == null ? "" : path).split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, command))) {
        return;
      }
    }
    throw new IllegalStateException("command " + command + " is not on the PATH (" + path + ")");
  }

  private HttpRequest.Builder headers(HttpRequest.Builder builder) {
    server.headers().forEach(builder::header);
    return builder;
  }

  private static String version() {
    String v = McpClientConnection.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  private void connected(long attempt, Link fresh, List<McpSchema.Tool> tools) {
    link = fresh;
    client = fresh.client();
    process = processOf(fresh);
    family = process == null ? List.of() : process.descendants().toList();
    connected = true;
    downLogged = false;
    connectedAt = System.nanoTime();
    names = register(tools, SkillRegistry.State.READY);
    LOG.info("mcp server " + server.name() + " connected (" + server.describe() + "): " + names.size() + " tools "
        + names);
    schedulePing(attempt, fresh.client());
    if (process != null) {
      process.onExit().thenAccept(p -> context.runOnContext(v ->
          lost(attempt, "its process exited with code " + p.exitValue())));
    }
  }

  private List<String> register(List<McpSchema.Tool> tools, SkillRegistry.State state) {
    List<McpToolSkill> skills = tools.stream()
        .map(t -> new McpToolSkill(server.name(), t, server.timeout(), this::client, json)).toList();
    return registry.replace(server.name(), SkillRegistry.Source.MCP, skills, state);
  }

  /** The next ping an interval after the last one answered, so a slow answer is never overlapped by the next ping. */
  private void schedulePing(long attempt, McpAsyncClient pinged) {
    pingTimer = vertx.setTimer(server.pingInterval().toMillis(), id -> ping(attempt, pinged));
  }

  /** A server is lost when a ping is not answered within its full timeout, however short the interval. */
  private void ping(long attempt, McpAsyncClient pinged) {
    if (stopped || attempt != generation || !connected) {
      return;
    }
    Future.fromCompletionStage(pinged.ping().timeout(server.timeout()).toFuture(), context).onComplete(ar -> {
      if (ar.failed()) {
        lost(attempt, "ping failed: " + reason(ar.cause()));
      } else if (!stopped && attempt == generation && connected) {
        schedulePing(attempt, pinged);
      }
    });
  }

  /** A tools/list_changed notification: the SDK has listed the tools again. */
  private void toolsChanged(long attempt, List<McpSchema.Tool> tools) {
    if (stopped || attempt != generation || !connected) {
      return;
    }
    List<String> before = names;
    names = register(tools, SkillRegistry.State.READY);
    if (!names.equals(before)) {
      LOG.info("mcp server " + server.name() + " changed its tools: " + names.size() + " tools " + names);
    }
  }

  /** The live connection broke: once per loss, however many signs of it arrive. */
  private void lost(long attempt, String why) {
    if (stopped || attempt != generation || !connected) {
      return;
    }
    connected = false;
    Link old = link;
    List<ProcessHandle> oldFamily = family;
    link = null;
    client = null;
    process = null;
    family = List.of();
    vertx.cancelTimer(pingTimer);
    // a server that dies right after each connect is not restarted every second
    if (Duration.ofNanos(System.nanoTime() - connectedAt).compareTo(MAX_RETRY) >= 0) {
      backoff = FIRST_RETRY;
    }
    int skills = registry.state(server.name(), SkillRegistry.Source.MCP, SkillRegistry.State.UNAVAILABLE);
    LOG.warning("mcp server " + server.name() + " disconnected: " + why + "; its " + skills
        + " skills are unavailable until it is back (retrying in " + backoff.toMillis() + " ms)");
    downLogged = true;
    close(old, oldFamily);
    retry();
  }

  /** An attempt did not get as far as a tool list; said once until the server is back. */
  private void failed(long attempt, String why) {
    if (stopped || attempt != generation) {
      return;
    }
    registry.state(server.name(), SkillRegistry.Source.MCP, SkillRegistry.State.UNAVAILABLE);
    if (!downLogged) {
      LOG.warning("mcp server " + server.name() + " (" + server.describe() + ") not connected: " + why
          + "; retrying in " + backoff.toMillis() + " ms, then up to every " + MAX_RETRY.toSeconds() + " s");
      downLogged = true;
    } else {
      LOG.fine(() -> "mcp server " + server.name() + " still not connected: " + why);
    }
    retry();
  }

  private void retry() {
    if (stopped) {
      return;
    }
    long wait = backoff.toMillis();
    backoff = backoff.multipliedBy(2).compareTo(MAX_RETRY) > 0 ? MAX_RETRY : backoff.multipliedBy(2);
    retryTimer = vertx.setTimer(wait, id -> attempt());
  }

  /**
   * Closes the client and ends its process; the future completes when both are done (or given up
   * on), and when an attempt that was under way has closed what it opened.
   */
  Future<Void> stop() {
    stopped = true;
    generation++;
    if (retryTimer >= 0) {
      vertx.cancelTimer(retryTimer);
    }
    if (pingTimer >= 0) {
      vertx.cancelTimer(pingTimer);
    }
    Link old = link;
    List<ProcessHandle> oldFamily = family;
    link = null;
    client = null;
    process = null;
    connected = false;
    registry.remove(server.name(), SkillRegistry.Source.MCP);
    Link connecting = pending;
    pending = null;
    // closing the attempt's client now makes its pending request fail at once; the attempt then closes it again
    return Future.all(close(old, oldFamily), connecting == null ? Future.succeededFuture() : close(connecting, List.of()),
        inFlight.recover(e -> Future.succeededFuture())).mapEmpty();
  }

  /**
   * A graceful close (the SDK ends a stdio process with SIGTERM, an HTTP session with DELETE),
   * bounded; then the process and its children still alive are killed, so no tool server outlives
   * the gateway, and the stdio transport is closed again with its process gone: only then do its
   * reader threads see the end of their pipes, and its schedulers end (a graceful close that timed
   * out, or one of a process already dead, leaves them running otherwise).
   */
  private Future<Void> close(Link old, List<ProcessHandle> known) {
    if (old == null) {
      return Future.succeededFuture();
    }
    return vertx.executeBlocking(() -> {
      Process oldProcess = processOf(old);
      List<ProcessHandle> tree = new ArrayList<>(known);
      if (oldProcess != null) {
        oldProcess.descendants().forEach(tree::add);
      }
      try {
        old.client().closeGracefully().timeout(CLOSE_WAIT).block();
      } catch (RuntimeException e) {
        LOG.fine(() -> "mcp server " + server.name() + ": close: " + e.getMessage());
      }
      if (oldProcess != null) {
        tree.add(oldProcess.toHandle());
        for (ProcessHandle p : tree) {
          if (p.isAlive()) {
            p.destroyForcibly();
          }
        }
        for (ProcessHandle p : tree) {
          try {
            p.onExit().get(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
          } catch (ExecutionException | TimeoutException e) {
            LOG.fine(() -> "mcp server " + server.name() + ": process " + p.pid() + " did not end");
          }
        }
        try {
          old.transport().closeGracefully().timeout(CLOSE_WAIT).block();
        } catch (RuntimeException e) {
          LOG.fine(() -> "mcp server " + server.name() + ": transport close: " + e.getMessage());
        }
      }
      return null;
    }, false);
  }

  /** The failure's own message and, when it only says that something failed, the cause at the bottom of it. */
  private String reason(Throwable e) {
    Throwable top = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    Throwable root = top;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    if (root instanceof TimeoutException) {
      return "no answer within " + server.timeout().toMillis() + " ms";
    }
    String rootText = root.getMessage() != null ? root.getClass().getSimpleName() + ": " + root.getMessage()
        : root.getClass().getSimpleName();
    if (root == top || top.getMessage() == null) {
      return top.getMessage() != null ? top.getMessage() : rootText;
    }
    return top.getMessage().contains(String.valueOf(root.getMessage())) ? top.getMessage() : top.getMessage() + " (" + rootText + ")";
  }

  private static final Field PROCESS = processField();

  private static Field processField() {
    try {
      Field f = StdioClientTransport.class.getDeclaredField("process");
      f.setAccessible(true);
      return f;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.log(Level.FINE, "the stdio transport's process is not reachable; exits are noticed by ping", e);
      return null;
    }
  }

  /**
   * The child process of a stdio client, so its exit is noticed at once and a hung one can be
   * killed on stop. The SDK keeps it private; without it the periodic ping still notices an exit.
   */
  private static Process processOf(Link link) {
    return link.transport() instanceof IsolatedStdioTransport stdio ? processOf(stdio) : null;
  }

  private static Process processOf(IsolatedStdioTransport stdio) {
    if (PROCESS == null) {
      return null;
    }
    try {
      return (Process) PROCESS.get(stdio);
    } catch (IllegalAccessException e) {
      return null;
    }
  }

  /**
   * The stdio transport with a clean environment: the child gets the SDK's few inherited
   * variables (HOME, PATH, ...) and the server's {@code env}, never the gateway's own (its JWT
   * secret, provider keys).
   */
  static final class IsolatedStdioTransport extends StdioClientTransport {

    // the SDK starts the process on a Reactor thread some time after connect is called: a close that
    // comes first must keep it from starting, or end it once started
    private boolean closed;

    IsolatedStdioTransport(ServerParameters params, McpJsonMapper json) {
      super(params, json);
    }

    @Override
    protected ProcessBuilder getProcessBuilder() {
      synchronized (this) {
        if (closed) {
          throw new IllegalStateException("closed before its process was started");
        }
      }
      ProcessBuilder builder = new ProcessBuilder();
      builder.environment().clear();
      return builder;
    }

    @Override
    public Mono<Void> connect(Function<Mono<McpSchema.JSONRPCMessage>, Mono<McpSchema.JSONRPCMessage>> handler) {
      return super.connect(handler).doFinally(signal -> {
        synchronized (this) {
          Process started = closed && PROCESS != null ? processOf(this) : null;
          if (started != null) {
            started.destroyForcibly();
          }
        }
      });
    }

    @Override
    public Mono<Void> closeGracefully() {
      return Mono.fromRunnable(() -> {
        synchronized (this) {
          closed = true;
        }
      }).then(super.closeGracefully());
    }
  }
}
