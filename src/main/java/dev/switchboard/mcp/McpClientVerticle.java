package dev.switchboard.mcp;

import dev.switchboard.agent.SkillRegistry;
import io.modelcontextprotocol.json.McpJsonDefaults;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The MCP tool servers of {@code mcp.servers}, each kept connected by a {@link McpClientConnection}
 * whose tools are skills in this gateway's {@link SkillRegistry}. Start-up does not wait for any
 * server: one that is down is said once in the log and retried, and its skills appear when it
 * answers. On stop the clients are closed and their processes end.
 */
public final class McpClientVerticle extends VerticleBase {

  // the SDK logs every handshake at INFO (server instructions included) and every failed attempt with a
  // stack trace; the connection's own lines say what matters, once per change. Set the level of
  // io.modelcontextprotocol in logging.properties to see the SDK's.
  // Held here because java.util.logging keeps loggers weakly and a collected one forgets its level.
  private static final Logger SDK_LOG = Logger.getLogger("io.modelcontextprotocol");

  static {
    if (SDK_LOG.getLevel() == null) {
      SDK_LOG.setLevel(Level.SEVERE);
    }
  }

  private final McpSettings settings;
  private final List<McpClientConnection> connections = new ArrayList<>();

  public McpClientVerticle(McpSettings settings) {
    this.settings = settings;
  }

  @Override
  public Future<?> start() {
    if (settings.servers().isEmpty()) {
      return Future.succeededFuture();
    }
    SkillRegistry registry = SkillRegistry.of(vertx);
    // found through the SDK's service loader: mcp-json-jackson2 on the class path
    McpJsonMapper json = McpJsonDefaults.getMapper();
    for (McpSettings.Server server : settings.servers()) {
      McpClientConnection connection = new McpClientConnection(vertx, context, server, registry, json);
      connections.add(connection);
      connection.start();
    }
    return Future.succeededFuture();
  }

  @Override
  public Future<?> stop() {
    return Future.all(connections.stream().map(McpClientConnection::stop).toList());
  }
}
