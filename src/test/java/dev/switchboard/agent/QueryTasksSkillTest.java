package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class QueryTasksSkillTest {

  static Vertx client;
  static TestGateway gateway;
  static String shortId;
  static String longId;
  static final String LONG = "summarise " + "the weekly report ".repeat(10);

  @BeforeAll
  static void start() throws Exception {
    client = Vertx.vertx();
    FakeUpstream upstream = FakeUpstream.start(client).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").start();
    // delayed an hour, so they stay queued whatever the test machine does
    shortId = submit("hello");
    longId = submit(LONG);
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    client.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void eachTaskIsOneLineWithIdStatusAndTheInputCutAt80() throws Exception {
    String answer = run(new JsonObject().put("status", "queued"));
    List<String> lines = answer.lines().toList();
    assertEquals(List.of(longId + " queued " + LONG.substring(0, 80) + "…", shortId + " queued hello"), lines);
  }

  @Test
  void theLimitIsApplied() throws Exception {
    assertEquals(1, run(new JsonObject().put("limit", 1)).lines().count());
  }

  @Test
  void aStatusWithNoTasksSaysSo() throws Exception {
    assertEquals("no failed tasks", run(new JsonObject().put("status", "failed")));
  }

  @Test
  void anUnknownStatusIsAnErrorResult() {
    var result = new QueryTasksSkill().run(new SkillCall(new JsonObject().put("status", "done"), List.of(), "test", gateway.vertx()));
    Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> result.await(10, TimeUnit.SECONDS));
    assertTrue(e.getMessage().contains("unknown status 'done'"), e.getMessage());
  }

  private static String run(JsonObject args) throws Exception {
    return new QueryTasksSkill().run(new SkillCall(args, List.of(), "test", gateway.vertx())).await(10, TimeUnit.SECONDS);
  }

  private static String submit(String input) throws Exception {
    var r = WebClient.create(client).postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(gateway.token("alice"))
        .sendJsonObject(new JsonObject().put("input", input).put("model", "fake-model").put("delay", "1h"))
        .await(10, TimeUnit.SECONDS);
    assertEquals(202, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getString("id");
  }
}
