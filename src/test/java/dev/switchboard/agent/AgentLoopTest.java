package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's tool loop against a real gateway (model dispatch included) and a scripted fake
 * model; the runner gets test skills through its own registry.
 */
class AgentLoopTest {

  static Vertx fakes;
  static FakeUpstream upstream;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    fakes = Vertx.vertx();
    upstream = FakeUpstream.start(fakes).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    upstream.close().await(10, TimeUnit.SECONDS);
    fakes.close().await(10, TimeUnit.SECONDS);
  }

  @BeforeEach
  void fresh() {
    upstream.reset();
  }

  @Test
  void parallelToolCallsOfOneTurnRunConcurrentlyAndAnswerInCallOrder() throws Exception {
    upstream.script(firstTools(List.of(call("c1", "slow_timer"), call("c2", "slow_worker"))));
    AgentRunner runner = runner(new AgentRunner.Budgets(8, Duration.ofSeconds(20), 0),
        TestSkills.timer("slow_timer", 700), TestSkills.sleeper("slow_worker", 700));
    long start = System.nanoTime();
    String answer = answer(runner, job(List.of("slow_timer", "slow_worker")));
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    assertTrue(millis < 1_300, "two 700 ms skills took " + millis + " ms together");
    JsonArray messages = lastRequest().getJsonArray("messages");
    JsonObject first = messages.getJsonObject(messages.size() - 2);
    JsonObject second = messages.getJsonObject(messages.size() - 1);
    assertEquals(List.of("c1", "slow_timer done", "c2", "slow_worker done"),
        List.of(first.getString("tool_call_id"), first.getString("content"), second.getString("tool_call_id"), second.getString("content")));
    assertEquals("done", answer);
  }

  @Test
  void aRunawayModelIsStoppedByTheStepBudgetAndTheAnswerSaysSo() throws Exception {
    upstream.script(body -> body.containsKey("tools")
        ? toolTurn(List.of(call("c" + System.nanoTime(), "current_time")))
        : new JsonObject().put("content", "here is what I have"));
    AgentRunner runner = runner(new AgentRunner.Budgets(3, Duration.ofSeconds(20), 0));
    String answer = answer(runner, job(List.of("current_time")));
    assertEquals("here is what I have\n\n(stopped: step budget of 3 used)", answer);
    assertEquals(4, upstream.chatRequests().size(), "three calls with tools, one without");
    assertEquals(3, lastRequest().getJsonArray("messages").stream()
        .filter(m -> "tool".equals(((JsonObject) m).getString("role"))).count(), "each turn's tool call was run");
    assertFalse(lastRequest().containsKey("tools"));
  }

  @Test
  void aRunawayModelIsStoppedByTheTokenBudget() throws Exception {
    upstream.script(body -> body.containsKey("tools")
        ? toolTurn(List.of(call("c" + System.nanoTime(), "current_time")))
        : new JsonObject().put("content", "enough"));
    AgentRunner runner = runner(new AgentRunner.Budgets(8, Duration.ofSeconds(20), 1));
    String answer = answer(runner, job(List.of("current_time")));
    assertTrue(answer.startsWith("enough\n\n(stopped: token budget of 1 used"), answer);
    assertEquals(2, upstream.chatRequests().size());
  }

  @Test
  void aRunawayModelIsStoppedByTheWallTimeBudgetEvenWhileASkillHangs() throws Exception {
    upstream.script(body -> body.containsKey("tools")
        ? toolTurn(List.of(call("c" + System.nanoTime(), "slow_timer")))
        : new JsonObject().put("content", lastContent(body)));
    AgentRunner runner = runner(new AgentRunner.Budgets(8, Duration.ofMillis(400), 0), TestSkills.timer("slow_timer", 5_000));
    long start = System.nanoTime();
    String answer = answer(runner, job(List.of("slow_timer")));
    assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 3_000);
    assertEquals("error: the skill did not answer within the run's time budget\n\n(stopped: time budget of 400ms used)", answer);
    assertEquals(2, upstream.chatRequests().size());
  }

  @Test
  void aSkillThatThrowsIsAnErrorResultForTheModelAndTheRunAnswers() throws Exception {
    upstream.script(firstTools(List.of(call("c1", "boom"))));
    AgentRunner runner = runner(new AgentRunner.Budgets(8, Duration.ofSeconds(20), 0), TestSkills.thrower("boom"));
    assertEquals("done", answer(runner, job(List.of("boom"))));
    JsonArray messages = lastRequest().getJsonArray("messages");
    assertEquals("error: kaput", messages.getJsonObject(messages.size() - 1).getString("content"));
  }

  @Test
  void aToolResultOverTheBoundIsCutOnACodePointWithAMarker() throws Exception {
    // 5 UTF-8 bytes per repeat (an emoji is a surrogate pair): a cut by bytes would split one
    String huge = "a\uD83D\uDE00".repeat(10_000);
    upstream.script(firstTools(List.of(call("c1", "huge"))));
    AgentRunner runner = runner(new AgentRunner.Budgets(8, Duration.ofSeconds(20), 0), TestSkills.answering("huge", huge));
    answer(runner, job(List.of("huge")));
    JsonArray messages = lastRequest().getJsonArray("messages");
    String sent = messages.getJsonObject(messages.size() - 1).getString("content");
    int marker = sent.indexOf("\n[result cut: ");
    assertTrue(marker > 0, sent.substring(Math.max(0, sent.length() - 80)));
    String kept = sent.substring(0, marker);
    assertTrue(kept.getBytes(StandardCharsets.UTF_8).length <= AgentRunner.MAX_RESULT_BYTES);
    assertEquals(kept, new String(kept.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8), "no half code point");
    assertTrue(huge.startsWith(kept));
    assertTrue(sent.endsWith(" of 50000 bytes shown]"), sent.substring(marker));
  }

  @Test
  void aToolTheRunDoesNotOfferIsNotRunEvenIfTheModelNamesIt() throws Exception {
    upstream.script(firstTools(List.of(call("c1", "boom"))));
    AgentRunner runner = runner(new AgentRunner.Budgets(8, Duration.ofSeconds(20), 0),
        TestSkills.answering("boom", "ran"), TestSkills.answering("other", "other"));
    answer(runner, job(List.of("other")));
    JsonArray messages = lastRequest().getJsonArray("messages");
    assertEquals("error: no tool named 'boom'", messages.getJsonObject(messages.size() - 1).getString("content"));
  }

  // ---------------------------------------------------------------------------------------------

  private static AgentRunner runner(AgentRunner.Budgets budgets, Skill... skills) {
    return new AgentRunner(gateway.vertx(), true, Duration.ofSeconds(10), new SkillRegistry(List.of(skills)), budgets);
  }

  private static AgentRunner.Job job(List<String> skills) {
    return new AgentRunner.Job("test:" + System.nanoTime(), "alice", "do it", "fake-model", null, List.of(), skills);
  }

  /** Runs the job on a context of the gateway's Vert.x, as the task workers do. */
  private static String answer(AgentRunner runner, AgentRunner.Job job) throws Exception {
    Promise<String> done = Promise.promise();
    gateway.vertx().getOrCreateContext().runOnContext(v -> runner.answer(job).onComplete(done));
    return done.future().await(20, TimeUnit.SECONDS);
  }

  private static JsonObject lastRequest() {
    List<JsonObject> requests = upstream.chatRequests();
    return requests.get(requests.size() - 1);
  }

  private static JsonObject call(String id, String name) {
    return new JsonObject().put("id", id).put("type", "function")
        .put("function", new JsonObject().put("name", name).put("arguments", "{}"));
  }

  private static JsonObject toolTurn(List<JsonObject> calls) {
    return new JsonObject().putNull("content").put("tool_calls", new JsonArray(List.copyOf(calls)));
  }

  /** The model asks for these tools until tool results are in its messages, then answers "done". */
  private static Function<JsonObject, JsonObject> firstTools(List<JsonObject> calls) {
    return body -> {
      boolean answered = body.getJsonArray("messages").stream()
          .anyMatch(m -> m instanceof JsonObject json && "tool".equals(json.getString("role")));
      return answered ? new JsonObject().put("content", "done") : toolTurn(calls);
    };
  }

  private static String lastContent(JsonObject body) {
    JsonArray messages = body.getJsonArray("messages");
    return String.valueOf(messages.getJsonObject(messages.size() - 1).getValue("content"));
  }

}
