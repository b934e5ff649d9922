package dev.switchboard.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.Manifest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Enabling and disabling plug-ins at run time: what is answered, what is kept in {@code data/plugins.json}. */
class PluginsVerticleTest {

  @TempDir
  Path conf;
  @TempDir
  Path data;

  Vertx vertx;

  @BeforeEach
  void jars() throws Exception {
    Path plugins = Files.createDirectories(conf.resolve("plugins"));
    for (String id : List.of("one", "two")) {
      Manifest m = new Manifest();
      Attributes a = m.getMainAttributes();
      a.putValue(PluginManifest.ID, id);
      a.putValue(PluginManifest.VERSION, "1.0");
      a.putValue(PluginManifest.TYPE, "skill");
      a.putValue(PluginManifest.REQUIRES, "0.1");
      Files.write(plugins.resolve(id + ".jar"), TestJars.compiledJar(m, Map.of(
          id + ".Skill" + id, TestJars.skillSource(id, "Skill" + id, "\"" + id + "\""),
          "META-INF/services/dev.switchboard.agent.Skill", id + ".Skill" + id + "\n")));
    }
  }

  private void start() throws Exception {
    vertx = Vertx.vertx();
    vertx.deployVerticle(new PluginsVerticle(Plugins.load(new PluginSettings(false), conf, data), data))
        .await(10, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() throws Exception {
    if (vertx != null) {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  @Test
  void theChoiceForAPluginThatIsNotHereThisStartIsKeptWhenAnotherIsSaved() throws Exception {
    // "gone" is refused this start (or its jar is out for a while): it stays disabled for when it is back
    Files.writeString(data.resolve(PluginChoices.FILE), "{\"disabled\": [\"gone\", \"one\"]}");
    start();
    assertEquals("disabled", find(list(), "one").getString("next_start"));
    set("two", false);
    assertEquals(List.of("gone", "one", "two"), saved());
    set("one", true);
    assertEquals(List.of("gone", "two"), saved());
  }

  @Test
  void aChoiceThatCouldNotBeSavedIsNotTakenNorSavedLaterWithAnotherOne() throws Exception {
    start();
    // the next save cannot write its file next to plugins.json
    Path tmp = Files.createDirectories(data.resolve(PluginChoices.FILE + ".tmp"));
    Throwable failed = assertThrows(ExecutionException.class, () -> set("one", false)).getCause();
    assertEquals(500, Failure.from(failed).status(), failed.getMessage());
    JsonObject one = find(list(), "one");
    assertEquals("enabled", one.getString("state"), one.encode());
    assertEquals("enabled", one.getString("next_start"), one.encode());

    Files.delete(tmp);
    assertEquals("disabled", set("two", false).getString("next_start"));
    assertEquals(List.of("two"), saved());
    assertEquals("enabled", find(list(), "one").getString("next_start"));
  }

  @Test
  void choicesSentTogetherAreEachAnsweredAsMadeAndTheLastIsSaved() throws Exception {
    start();
    var off = request("one", false);
    var on = request("one", true);
    var offAgain = request("one", false);
    List<String> states = new java.util.ArrayList<>();
    for (var reply : List.of(off, on, offAgain)) {
      states.add(reply.await(10, TimeUnit.SECONDS).body().getString("next_start"));
    }
    assertEquals(List.of("disabled", "enabled", "disabled"), states);
    assertEquals(List.of("one"), saved());
  }

  private List<Object> saved() throws Exception {
    return new JsonObject(Files.readString(data.resolve(PluginChoices.FILE))).getJsonArray("disabled").getList();
  }

  private JsonObject set(String id, boolean enabled) throws Exception {
    return request(id, enabled).map(Message::body).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private io.vertx.core.Future<Message<JsonObject>> request(String id, boolean enabled) {
    return vertx.eventBus().request(Addresses.PLUGINS_SET, new JsonObject().put("id", id).put("enabled", enabled));
  }

  private JsonArray list() throws Exception {
    return vertx.eventBus().<JsonObject>request(Addresses.PLUGINS_LIST, null).await(10, TimeUnit.SECONDS).body()
        .getJsonArray("data");
  }

  private static JsonObject find(JsonArray data, String id) {
    return data.stream().map(JsonObject.class::cast).filter(p -> id.equals(p.getString("id"))).findFirst().orElseThrow();
  }
}
