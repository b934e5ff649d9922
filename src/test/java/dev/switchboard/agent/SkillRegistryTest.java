package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

class SkillRegistryTest {

  @Test
  void aPluginCannotTakeTheNameOfABuiltIn() {
    SkillRegistry registry = new SkillRegistry(List.of(new ShadowRecallPluginSkill()));
    assertSame(RecallSkill.class, registry.get("recall").getClass());
    assertEquals(1, registry.entries().stream().filter(e -> e.skill().name().equals("recall")).count());
  }

  @Test
  void aNameThatIsNotAValidToolNameIsRefused() {
    SkillRegistry registry = new SkillRegistry(List.of(TestSkills.answering("has space", "x"),
        TestSkills.answering("a".repeat(65), "x"), TestSkills.answering("ok_name-2", "x")));
    assertNull(registry.get("has space"));
    assertNull(registry.get("a".repeat(65)));
    assertEquals("ok_name-2", registry.get("ok_name-2").name());
  }

  @Test
  void toolsAreTheAllowedKnownSkillsAsOpenAiFunctionsInTheOrderAsked() {
    SkillRegistry registry = new SkillRegistry(List.of(new WeatherPluginSkill()));
    JsonArray tools = registry.tools(List.of("weather", "nope", "current_time"));
    assertEquals(2, tools.size());
    JsonObject weather = tools.getJsonObject(0);
    assertEquals("function", weather.getString("type"));
    assertEquals("weather", weather.getJsonObject("function").getString("name"));
    assertEquals(new WeatherPluginSkill().parameters(), weather.getJsonObject("function").getJsonObject("parameters"));
    assertEquals("current_time", tools.getJsonObject(1).getJsonObject("function").getString("name"));
  }

  @Test
  void theClassPathPluginsAreFoundByServiceLoader() {
    assertEquals(List.of("weather", "recall"), SkillRegistry.discovered().stream().map(Skill::name).toList());
  }

  @Test
  void aSkillAddedWhileRunningCannotTakeABuiltInName() {
    SkillRegistry registry = new SkillRegistry(List.of());
    assertFalse(registry.add(TestSkills.answering("recall", "x"), SkillRegistry.Source.MCP, "fs"));
    assertSame(RecallSkill.class, registry.get("recall").getClass());
  }

  @Test
  void replacingASourcesSkillsDropsTheOldOnesAndKeepsOthers() {
    SkillRegistry registry = new SkillRegistry(List.of());
    registry.replace("fs", SkillRegistry.Source.MCP, List.of(TestSkills.answering("fs__read", "a"),
        TestSkills.answering("fs__list", "b")), SkillRegistry.State.READY);
    registry.replace("web", SkillRegistry.Source.MCP, List.of(TestSkills.answering("web__get", "c")), SkillRegistry.State.READY);
    List<String> accepted = registry.replace("fs", SkillRegistry.Source.MCP, List.of(TestSkills.answering("fs__stat", "d")),
        SkillRegistry.State.READY);
    assertEquals(List.of("fs__stat"), accepted);
    assertNull(registry.entry("fs__read"));
    assertNull(registry.entry("fs__list"));
    assertEquals("web__get", registry.get("web__get").name());
  }

  @Test
  void aSkillThatIsNotReadyIsListedButNeitherFoundNorOffered() {
    SkillRegistry registry = new SkillRegistry(List.of());
    registry.replace("fs", SkillRegistry.Source.MCP, List.of(TestSkills.answering("fs__read", "a")), SkillRegistry.State.READY);
    assertEquals(1, registry.state("fs", SkillRegistry.Source.MCP, SkillRegistry.State.UNAVAILABLE));
    assertNull(registry.get("fs__read"));
    assertTrue(registry.tools(List.of("fs__read")).isEmpty());
    JsonObject listed = registry.describe().getJsonArray("data").stream().map(JsonObject.class::cast)
        .filter(j -> "fs__read".equals(j.getString("name"))).findFirst().orElseThrow();
    assertEquals("unavailable", listed.getString("state"));
    assertEquals("mcp", listed.getString("source"));
    assertEquals("fs", listed.getString("origin"));
  }

  @Test
  void removingASourceDropsExactlyItsSkills() {
    SkillRegistry registry = new SkillRegistry(List.of());
    registry.add(TestSkills.answering("a1", "x"), SkillRegistry.Source.PLUG_IN, "acme");
    registry.add(TestSkills.answering("a2", "x"), SkillRegistry.Source.PLUG_IN, "acme");
    registry.add(TestSkills.answering("b1", "x"), SkillRegistry.Source.PLUG_IN, "other");
    assertEquals(2, registry.remove("acme", SkillRegistry.Source.PLUG_IN));
    assertNull(registry.entry("a1"));
    assertEquals("b1", registry.get("b1").name());
  }

  @Test
  void eachVertxHasItsOwnRegistry() throws Exception {
    io.vertx.core.Vertx one = io.vertx.core.Vertx.vertx();
    io.vertx.core.Vertx two = io.vertx.core.Vertx.vertx();
    try {
      assertSame(SkillRegistry.of(one), SkillRegistry.of(one));
      SkillRegistry.of(one).add(TestSkills.answering("only_here", "x"), SkillRegistry.Source.MCP, "s");
      assertNull(SkillRegistry.of(two).entry("only_here"));
      assertEquals("weather", SkillRegistry.of(two).get("weather").name());
    } finally {
      one.close().await();
      two.close().await();
    }
  }
}
