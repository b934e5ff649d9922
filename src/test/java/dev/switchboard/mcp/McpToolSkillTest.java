package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.modelcontextprotocol.spec.McpSchema;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How an MCP tool is named and how its answer reads for the model. */
class McpToolSkillTest {

  @Test
  void theNameIsServerTwoUnderscoresTool() {
    assertEquals("everything__echo", McpToolSkill.skillName("everything", "echo"));
    assertEquals("everything__get-sum", McpToolSkill.skillName("everything", "get-sum"));
  }

  @Test
  void charactersOutsideToolNamesBecomeUnderscoresOnePerCharacter() {
    assertEquals("fs__read_file_v2", McpToolSkill.skillName("fs", "read.file v2"));
    assertEquals("fs__caf___x", McpToolSkill.skillName("fs", "caf\u00e9\uD83D\uDE00/x"));
  }

  @Test
  void aNameOf64IsKeptWhole() {
    String name = McpToolSkill.skillName("server", "t".repeat(56));
    assertEquals("server__" + "t".repeat(56), name);
  }

  @Test
  void aNameOver64IsItsFirst55AndEightHexDigitsOfTheSha256OfTheWhole() throws Exception {
    String tool = "t".repeat(100);
    String name = McpToolSkill.skillName("server", tool);
    String sha = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
        .digest(("server__" + tool).getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    assertEquals(64, name.length());
    assertEquals(("server__" + tool).substring(0, 55) + "-" + sha.substring(0, 8), name);
    assertEquals(name, McpToolSkill.skillName("server", tool), "the same tool gets the same name on every connect");
  }

  @Test
  void twoLongNamesThatShareTheirFirst55StayApart() {
    String common = "a".repeat(60);
    String one = McpToolSkill.skillName("server", common + "_read");
    String other = McpToolSkill.skillName("server", common + "_write");
    assertEquals(one.substring(0, 56), other.substring(0, 56));
    assertNotEquals(one, other);
  }

  @Test
  void textIsJoinedAndOtherContentSummarised() {
    McpSchema.CallToolResult result = new McpSchema.CallToolResult(List.of(
        new McpSchema.TextContent("first"),
        new McpSchema.ImageContent(null, "iVBORw0KGgo=", "image/png"),
        new McpSchema.EmbeddedResource(null, new McpSchema.TextResourceContents("file:///a.txt", "text/plain", "inside")),
        new McpSchema.TextContent("last")), false, null, null);
    assertEquals("first\n[image/png 8 bytes]\n[resource file:///a.txt]\ninside\nlast", McpToolSkill.text(result));
  }

  @Test
  void structuredContentStandsInWhenThereIsNoContent() {
    McpSchema.CallToolResult result = new McpSchema.CallToolResult(List.of(), false, Map.of("sum", 3), null);
    assertEquals("{\"sum\":3}", McpToolSkill.text(result));
  }

  @Test
  void aToolWithoutPropertiesGetsAnEmptyObjectOfThemAndADescription() {
    McpSchema.Tool tool = new McpSchema.Tool("ping", null, null, Map.of("type", "object"), null, null, null);
    McpToolSkill skill = new McpToolSkill("s", tool, java.time.Duration.ofSeconds(1), () -> null, null);
    assertEquals("{\"type\":\"object\",\"properties\":{}}", skill.parameters().encode());
    assertEquals("Tool ping (MCP server s)", skill.description());
  }
}
