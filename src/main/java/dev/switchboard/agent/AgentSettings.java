package dev.switchboard.agent;

import dev.switchboard.config.ConfigNode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The {@code agent:} section of switchboard.yaml: {@code http_fetch.allow}, the hosts the
 * {@code http_fetch} skill may reach (a name, {@code *.domain} for its subdomains, or an IP
 * address; empty: none). The gateway installs it in its Vert.x, where the shared skill registry's
 * {@code http_fetch} reads it per call, so two gateways in one JVM keep their own lists.
 */
public record AgentSettings(List<String> httpFetchAllow) {

  private static final String MAP = "agent.settings";
  private static final String ALLOW = "http_fetch.allow";
  // a bare host: no scheme, port, path or user; IPv6 literals are letters, digits and colons
  private static final Pattern HOST = Pattern.compile("(\\*\\.)?[A-Za-z0-9._:-]+");

  public AgentSettings {
    httpFetchAllow = List.copyOf(httpFetchAllow);
  }

  public static AgentSettings defaults() {
    return new AgentSettings(List.of());
  }

  public static AgentSettings from(ConfigNode agent) {
    agent.allowOnly("http_fetch");
    ConfigNode fetch = agent.get("http_fetch");
    fetch.allowOnly("allow");
    List<String> allow = fetch.get("allow").strings();
    for (String host : allow) {
      if (!HOST.matcher(host).matches()) {
        throw fetch.get("allow").error("'" + host + "' is not a host name, *.domain or IP address (no scheme, port or path)");
      }
    }
    return new AgentSettings(allow);
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
