package dev.switchboard.mcp;

import dev.switchboard.agent.Skill;
import dev.switchboard.agent.SkillCall;
import io.modelcontextprotocol.client.McpAsyncClient;
import io.modelcontextprotocol.json.McpJsonMapper;
import io.modelcontextprotocol.spec.McpSchema;
import io.vertx.core.Future;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * One tool of an MCP server as a skill named {@code <server>__<tool>}. A call is a
 * {@code tools/call} on the server's current connection, so a skill listed before a reconnect
 * still reaches the server after it; while the server is away the registry does not offer it, and
 * a call that races the loss fails with a message the model can read.
 */
public final class McpToolSkill implements Skill {

  static final int MAX_NAME = 64;
  // 55 + "-" + 8 hex digits = 64
  private static final int SHORT_PREFIX = 55;

  private final String name;
  private final String server;
  private final String tool;
  private final String description;
  private final JsonObject parameters;
  private final Duration timeout;
  private final Supplier<McpAsyncClient> client;
  private final McpJsonMapper json;

  McpToolSkill(String server, McpSchema.Tool tool, Duration timeout, Supplier<McpAsyncClient> client, McpJsonMapper json) {
    this.name = skillName(server, tool.name());
    this.server = server;
    this.tool = tool.name();
    this.description = description(server, tool);
    this.parameters = McpToolSchema.parameters(tool.inputSchema());
    this.timeout = timeout;
    this.client = client;
    this.json = json;
  }

  /**
   * {@code <server>__<tool>} as an OpenAI tool name: every character outside letters, digits,
   * {@code _} and {@code -} becomes {@code _}. A name over OpenAI's 64 is its first 55 characters,
   * {@code -} and 8 hex digits of the SHA-256 of the whole {@code <server>__<tool>}: the same tool
   * gets the same name on every connect, and two long tools that share a beginning still differ.
   * Two tools that come out the same otherwise are told apart by the registry, which refuses the
   * second with a log line.
   */
  public static String skillName(String server, String tool) {
    String joined = server + "__" + tool;
    StringBuilder out = new StringBuilder(joined.length());
    // by code point, so a character outside the BMP becomes one '_', not two
    joined.codePoints().forEach(c -> out.append(allowed(c) ? (char) c : '_'));
    if (out.length() <= MAX_NAME) {
      return out.toString();
    }
    return out.substring(0, SHORT_PREFIX) + "-" + HexFormat.of().formatHex(sha256(joined), 0, 4);
  }

  private static byte[] sha256(String text) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }

  private static boolean allowed(int c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  }

  private static String description(String server, McpSchema.Tool tool) {
    String text = tool.description() != null && !tool.description().isBlank() ? tool.description()
        : tool.title() != null && !tool.title().isBlank() ? tool.title() : "Tool " + tool.name();
    return text + " (MCP server " + server + ")";
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public String description() {
    return description;
  }

  @Override
  public JsonObject parameters() {
    return parameters;
  }

  /** The MCP tool's own name on its server. */
  public String tool() {
    return tool;
  }

  @Override
  public Future<String> run(SkillCall call) {
    McpAsyncClient now = client.get();
    if (now == null) {
      return Future.failedFuture("MCP server " + server + " is not connected; try again later");
    }
    McpSchema.CallToolRequest request = new McpSchema.CallToolRequest(json, tool, call.arguments().encode());
    var pending = now.callTool(request).timeout(timeout).toFuture();
    return Future.fromCompletionStage(pending, call.vertx().getOrCreateContext())
        .recover(e -> Future.failedFuture(failure(e)))
        .compose(result -> Boolean.TRUE.equals(result.isError())
            ? Future.failedFuture(new ToolError(text(result)))
            : Future.succeededFuture(text(result)));
  }

  private String failure(Throwable e) {
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof TimeoutException) {
        cause = t;
        break;
      }
    }
    if (cause instanceof TimeoutException) {
      return "MCP server " + server + " did not answer " + tool + " within " + timeout.toMillis() + "ms";
    }
    return "MCP server " + server + " failed " + tool + ": " + cause.getMessage();
  }

  /** The server's answer for the model: its text joined, other content summarised. */
  static String text(McpSchema.CallToolResult result) {
    List<String> parts = new ArrayList<>();
    for (McpSchema.Content content : result.content() == null ? List.<McpSchema.Content>of() : result.content()) {
      parts.add(describe(content));
    }
    if (parts.isEmpty() && result.structuredContent() != null) {
      parts.add(Json.encode(result.structuredContent()));
    }
    return String.join("\n", parts);
  }

  private static String describe(McpSchema.Content content) {
    if (content instanceof McpSchema.TextContent text) {
      return text.text();
    }
    if (content instanceof McpSchema.ImageContent image) {
      return "[" + image.mimeType() + " " + decodedSize(image.data()) + " bytes]";
    }
    if (content instanceof McpSchema.AudioContent audio) {
      return "[" + audio.mimeType() + " " + decodedSize(audio.data()) + " bytes]";
    }
    if (content instanceof McpSchema.ResourceLink link) {
      return "[resource " + link.uri() + (link.mimeType() == null ? "" : " " + link.mimeType()) + "]";
    }
    if (content instanceof McpSchema.EmbeddedResource embedded) {
      McpSchema.ResourceContents resource = embedded.resource();
      if (resource instanceof McpSchema.TextResourceContents text) {
        return "[resource " + text.uri() + "]\n" + text.text();
      }
      if (resource instanceof McpSchema.BlobResourceContents blob) {
        return "[resource " + blob.uri() + " " + blob.mimeType() + " " + decodedSize(blob.blob()) + " bytes]";
      }
    }
    return "[" + content.type() + " content]";
  }

  /** Bytes of base64 data without decoding it. */
  static long decodedSize(String base64) {
    if (base64 == null) {
      return 0;
    }
    String s = base64.strip();
    int padding = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
    return Math.max(0, s.length() * 3L / 4 - padding);
  }

  /** The server answered with {@code isError: true}; its text is what the model should read. */
  static final class ToolError extends RuntimeException {
    ToolError(String message) {
      super(message.isEmpty() ? "the tool reported an error" : message, null, false, false);
    }
  }
}
