package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

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
}
