package dev.switchboard.mcp;

import dev.switchboard.config.ConfigNode;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The {@code mcp:} section of switchboard.yaml: the MCP tool servers whose tools become skills.
 * A server is either a command started as a child process (stdio) or the URL of a streamable
 * HTTP endpoint; nothing is configured by default.
 */
public record McpSettings(List<Server> servers) {

  /** What a server name may be made of: it is the first half of its skills' names (and no "__", no trailing "_"). */
  static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,32}");
  static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
  static final Duration DEFAULT_PING_INTERVAL = Duration.ofSeconds(15);
  // what java.net.http refuses to let a caller set
  private static final Set<String> RESTRICTED = Set.of("connection", "content-length", "expect", "host", "upgrade");

  public McpSettings {
    servers = List.copyOf(servers);
  }

  public static McpSettings none() {
    return new McpSettings(List.of());
  }

  /**
   * One tool server. Exactly one of {@code command} (with {@code args} and {@code env}) and
   * {@code url} (with {@code headers}) is set. {@code timeout} bounds one tool call;
   * {@code pingInterval} is how often a connected server is pinged to notice that it went away.
   */
  public record Server(String name, String command, List<String> args, Map<String, String> env,
                       String url, Map<String, String> headers, Duration timeout, Duration pingInterval) {

    public Server {
      args = List.copyOf(args);
      env = Map.copyOf(env);
      headers = Map.copyOf(headers);
    }

    public boolean stdio() {
      return command != null;
    }

    /** How the logs name it: the command or URL, never the env or headers (they may hold secrets). */
    public String describe() {
      return stdio() ? "command " + command : "url " + url;
    }
  }

  public static McpSettings from(ConfigNode mcp) {
    mcp.allowOnly("servers");
    List<Server> servers = new ArrayList<>();
    Set<String> names = new HashSet<>();
    for (ConfigNode node : mcp.get("servers").list()) {
      Server server = server(node);
      if (!names.add(server.name())) {
        throw node.get("name").error("'" + server.name() + "' names two servers; names must be unique");
      }
      servers.add(server);
    }
    return new McpSettings(servers);
  }

  private static Server server(ConfigNode node) {
    node.allowOnly("name", "command", "args", "env", "url", "headers", "timeout", "ping_interval");
    String name = node.get("name").requiredString();
    if (!NAME.matcher(name).matches()) {
      throw node.get("name").error("'" + name + "' must be 1 to 32 letters, digits, _ or - (it starts the names of its skills)");
    }
    // a skill is <server>__<tool> and its server is what comes before the first "__": a name holding "__",
    // or one whose trailing "_" runs into the separator, would put that split in the wrong place
    if (name.contains("__") || name.endsWith("_")) {
      throw node.get("name").error("'" + name + "' must not contain __ nor end in _ (its skills are named <server>__<tool>,"
          + " split at the first __)");
    }
    String command = node.get("command").string("");
    String url = node.get("url").string("");
    if (command.isEmpty() == url.isEmpty()) {
      throw node.error("server '" + name + "' needs exactly one of command (a process speaking stdio) or url (streamable HTTP)");
    }
    Duration timeout = positive(node.get("timeout"), DEFAULT_TIMEOUT);
    Duration ping = positive(node.get("ping_interval"), DEFAULT_PING_INTERVAL);
    if (!command.isEmpty()) {
      if (!node.get("headers").isMissing()) {
        throw node.get("headers").error("is for url servers; a command server takes env");
      }
      return new Server(name, command, strings(node.get("args")), map(node.get("env")), null, Map.of(), timeout, ping);
    }
    if (!node.get("args").isMissing() || !node.get("env").isMissing()) {
      throw node.get(node.get("args").isMissing() ? "env" : "args").error("is for command servers; a url server takes headers");
    }
    Map<String, String> headers = map(node.get("headers"));
    for (String header : headers.keySet()) {
      if (RESTRICTED.contains(header.toLowerCase(java.util.Locale.ROOT))) {
        throw node.get("headers").get(header).error("is set by the HTTP client itself and cannot be configured");
      }
    }
    return new Server(name, null, List.of(), Map.of(), httpUrl(node.get("url"), url), headers, timeout, ping);
  }

  private static Duration positive(ConfigNode node, Duration fallback) {
    Duration d = node.duration(fallback);
    if (d.isZero() || d.isNegative()) {
      throw node.error("must be more than 0");
    }
    return d;
  }

  private static String httpUrl(ConfigNode node, String url) {
    try {
      URI uri = new URI(url);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase();
      if ((!scheme.equals("http") && !scheme.equals("https")) || uri.getHost() == null) {
        throw node.error("'" + url + "' is not an http:// or https:// URL with a host");
      }
      return url;
    } catch (URISyntaxException e) {
      throw node.error("'" + url + "' is not a URL: " + e.getReason());
    }
  }

  /** A list whose items are all single values; an item that is a mapping or list is an error naming it. */
  private static List<String> strings(ConfigNode node) {
    if (node.isMissing()) {
      return List.of();
    }
    if (!(node.raw() instanceof List)) {
      throw node.error("expected a list of strings, got " + describe(node.raw()));
    }
    List<String> out = new ArrayList<>();
    for (ConfigNode item : node.list()) {
      if (item.isMissing()) {
        throw item.error("expected a string, got nothing");
      }
      out.add(item.string(""));
    }
    return out;
  }

  private static Map<String, String> map(ConfigNode node) {
    if (node.isMissing()) {
      return Map.of();
    }
    if (!(node.raw() instanceof Map)) {
      throw node.error("expected a mapping of names to strings, got " + describe(node.raw()));
    }
    Map<String, String> out = new LinkedHashMap<>();
    for (String key : node.keys()) {
      ConfigNode value = node.get(key);
      if (value.isMissing()) {
        throw value.error("expected a string, got nothing");
      }
      out.put(key, value.string(""));
    }
    return out;
  }

  private static String describe(Object value) {
    return value instanceof Map ? "a mapping" : value instanceof List ? "a list" : "'" + value + "'";
  }
}
