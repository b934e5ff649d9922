package dev.switchboard.agent;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code agent:} section of switchboard.yaml: {@code http_fetch.allow}, the hosts the
 * {@code http_fetch} skill may reach (a name, {@code *.domain} for its subdomains, or an IP
 * address; empty: none). The gateway installs it in its Vert.x, where the shared skill registry's
 * {@code http_fetch} reads it per call, so two gateways in one JVM keep their own lists.
 *
 * <p>And the budgets of every agent run: {@code steps} model calls that may ask for tools
 * (default {@value AgentRunner#DEFAULT_STEPS}), {@code wall} time (null when unset: nine tenths of
 * queue.task_timeout, so the loop answers with what it has before the task's own bound ends it),
 * {@code tokens} spent ({@code usage.total_tokens}; 0, the default, for no limit).
 */
public record AgentSettings(List<String> httpFetchAllow, int steps, Duration wall, long tokens) {

  private static final String MAP = "agent.settings";
  private static final String ALLOW = "http_fetch.allow";
  // a bare host: no scheme, port, path or user; IPv6 literals are letters, digits and colons
  private static final Pattern HOST = Pattern.compile("(\\*\\.)?[A-Za-z0-9._:-]+");

  private static final int MAX_STEPS = 1_000;

  public AgentSettings {
    httpFetchAllow = List.copyOf(httpFetchAllow);
  }

  /** The budgets' defaults. */
  public AgentSettings(List<String> httpFetchAllow) {
    this(httpFetchAllow, AgentRunner.DEFAULT_STEPS, null, 0);
  }

  public static AgentSettings defaults() {
    return new AgentSettings(List.of());
  }

  /** The section, its wall time unchecked against a task timeout. */
  public static AgentSettings from(ConfigNode agent) {
    return from(agent, null);
  }

  /** {@code taskTimeout}: queue.task_timeout, which {@code wall} must be below (null: not checked). */
  public static AgentSettings from(ConfigNode agent, Duration taskTimeout) {
    agent.allowOnly("http_fetch", "steps", "wall", "tokens");
    int steps = agent.get("steps").integer(AgentRunner.DEFAULT_STEPS, 1, MAX_STEPS);
    Duration wall = agent.get("wall").duration(null);
    if (wall != null && (wall.isZero() || wall.isNegative())) {
      throw agent.get("wall").error("must be a positive duration such as 30s or 5m, got '" + agent.get("wall").string("") + "'");
    }
    if (wall != null && taskTimeout != null && wall.compareTo(taskTimeout) >= 0) {
      throw agent.get("wall").error("must be shorter than queue.task_timeout (" + taskTimeout.toSeconds()
          + "s), or the task times out before the agent answers with what it has; got '" + agent.get("wall").string("") + "'");
    }
    long tokens = agent.get("tokens").number(0, 0, Long.MAX_VALUE);
    ConfigNode fetch = agent.get("http_fetch");
    fetch.allowOnly("allow");
    List<String> allow = fetch.get("allow").strings();
    for (String host : allow) {
      if (!HOST.matcher(host).matches()) {
        throw fetch.get("allow").error("'" + host + "' is not a host name, *.domain or IP address (no scheme, port or path)");
      }
    }
    return new AgentSettings(allow, steps, wall, tokens);
  }

  /** The budgets of a run whose caller bounds it by {@code taskTimeout}: {@code wall} unset is nine tenths of it. */
  public AgentRunner.Budgets budgets(Duration taskTimeout) {
    return new AgentRunner.Budgets(steps, wall != null ? wall : Duration.ofMillis(Math.max(1, taskTimeout.toMillis() * 9 / 10)),
        tokens);
  }

  /** Makes these the settings the skills of this Vert.x read. */
  public void install(Vertx vertx) {
    vertx.sharedData().getLocalMap(MAP).put(ALLOW, new JsonArray(httpFetchAllow));
  }

  /** The allow list installed in this Vert.x; empty when none was. */
  static List<String> httpFetchAllow(Vertx vertx) {
    Object allow = vertx.sharedData().getLocalMap(MAP).get(ALLOW);
    return allow instanceof JsonArray a ? a.stream().map(String::valueOf).toList() : List.of();
  }
}
