package dev.switchboard.mcp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * An MCP tool's input schema as OpenAI function parameters: {@code {"type": "object", "properties": ...}}
 * at the top whatever the server sent. The shapes are ones real servers send (server-everything's
 * are copied from its tools/list).
 */
class McpToolSchemaTest {

  private static JsonObject parameters(String schema) {
    return McpToolSchema.parameters(schema == null ? null : new JsonObject(schema).getMap());
  }

  @Test
  void serverEverythingsEchoLosesOnlyItsDraftMarker() {
    JsonObject p = parameters("""
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
         "properties": {"message": {"type": "string", "description": "Message to echo"}}, "required": ["message"]}""");
    assertEquals(new JsonObject("""
        {"type": "object", "properties": {"message": {"type": "string", "description": "Message to echo"}},
         "required": ["message"]}"""), p);
  }

  @Test
  void serverEverythingsToolWithoutArgumentsIsAnEmptyObject() {
    assertEquals("{\"type\":\"object\",\"properties\":{}}",
        parameters("{\"$schema\": \"http://json-schema.org/draft-07/schema#\", \"type\": \"object\", \"properties\": {}}").encode());
  }

  @Test
  void keywordsBelowTheTopAndBesideTheProperties() {
    JsonObject p = parameters("""
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": false,
         "properties": {"count": {"default": 3, "type": "number", "minimum": 1, "maximum": 10,
                                  "$schema": "kept: it is not at the top"}}}""");
    assertEquals(new JsonObject("""
        {"type": "object", "properties": {"count": {"default": 3, "type": "number", "minimum": 1, "maximum": 10,
                                                    "$schema": "kept: it is not at the top"}},
         "additionalProperties": false}"""), p);
  }

  @Test
  void noSchemaAtAllIsAnEmptyObject() {
    assertEquals("{\"type\":\"object\",\"properties\":{}}", parameters(null).encode());
    assertEquals("{\"type\":\"object\",\"properties\":{}}", parameters("{}").encode());
  }

  @Test
  void aSchemaWithoutTypeOrWithoutPropertiesGetsThem() {
    assertEquals("{\"type\":\"object\",\"properties\":{}}", parameters("{\"type\": \"object\"}").encode());
    assertEquals(new JsonObject("{\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"string\"}}}"),
        parameters("{\"properties\": {\"q\": {\"type\": \"string\"}}}"));
    assertEquals("{\"type\":\"object\",\"properties\":{}}", parameters("{\"type\": \"object\", \"properties\": null}").encode());
  }

  @Test
  void aTypeListWithObjectInItIsObject() {
    assertEquals(new JsonObject("{\"type\": \"object\", \"properties\": {\"q\": {\"type\": \"string\"}}}"),
        parameters("{\"type\": [\"object\", \"null\"], \"properties\": {\"q\": {\"type\": \"string\"}}}"));
  }

  @Test
  void aNonObjectTopLevelIsOfferedAsNoParameters() {
    // tools/call arguments are an object: a string or array schema cannot describe them
    assertEquals("{\"type\":\"object\",\"properties\":{}}", parameters("{\"type\": \"string\"}").encode());
    assertEquals("{\"type\":\"object\",\"properties\":{}}",
        parameters("{\"type\": \"array\", \"items\": {\"type\": \"number\"}}").encode());
  }

  @Test
  void aUnionOfObjectsAtTheTopIsOneObjectRequiringWhatEveryBranchRequires() {
    // what zod's z.union([...]) of two objects becomes
    JsonObject p = parameters("""
        {"anyOf": [
          {"type": "object", "properties": {"id": {"type": "string"}, "path": {"type": "string"}}, "required": ["id", "path"]},
          {"type": "object", "properties": {"id": {"type": "string"}, "url": {"type": "string"}}, "required": ["id", "url"]}],
         "$schema": "http://json-schema.org/draft-07/schema#"}""");
    assertEquals(new JsonObject("""
        {"type": "object", "properties": {"id": {"type": "string"}, "path": {"type": "string"}, "url": {"type": "string"}},
         "required": ["id"]}"""), p);
  }

  @Test
  void allOfAtTheTopIsMergedRequiringEverything() {
    JsonObject p = parameters("""
        {"type": "object", "properties": {"a": {"type": "number"}}, "required": ["a"],
         "allOf": [{"properties": {"b": {"type": "number"}}, "required": ["b"]}]}""");
    assertEquals(new JsonObject("""
        {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}"""), p);
  }

  @Test
  void theServersSchemaIsNotChanged() {
    Map<String, Object> schema = new JsonObject("{\"$schema\": \"x\", \"type\": \"object\"}").getMap();
    McpToolSchema.parameters(schema);
    assertEquals(Map.of("$schema", "x", "type", "object"), schema);
  }
}
