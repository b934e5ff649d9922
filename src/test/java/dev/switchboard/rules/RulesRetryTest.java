package dev.switchboard.rules;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.Failure;
import dev.switchboard.bus.LocalCodec;
import dev.switchboard.config.ConfigFiles;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rules as the events component offers them events: an offer that is repeated after a failed
 * action must still run the rule. Driven through the bus contract (RULES_EVENT, RULES_TEST); the
 * task queue's address answers as the queue does when its store is down for a moment.
 */
@DisplayName("Rules offered an event again")
class RulesRetryTest {

  @Test
  @DisplayName("a rule with a cooldown still runs when its event is offered again after a retryable failure")
  void ruleWithCooldownStillRunsWhenItsEventIsRetriedAfterARetryableFailure(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("rules.yaml"), """
        rules:
          - name: "ci"
            on: { webhook: "ci" }
            cooldown: 30s
            do:
              - agent: { prompt: "build failed" }
        """);
    RulesFile file = new RulesFile(new ConfigFiles(dir, k -> null), (t, b) -> Optional.empty());
    RulesSettings settings = new RulesSettings(file, file.load());
    Vertx vertx = Vertx.vertx();
    try {
      LocalCodec.registerAll(vertx.eventBus());
      AtomicInteger submits = new AtomicInteger();
      vertx.eventBus().localConsumer(Addresses.TASK_SUBMIT, m -> {
        if (submits.incrementAndGet() == 1) {
          Failure.reply(m, Failure.unavailable("store_unavailable", "queue down for a moment"));
        } else {
          m.reply(new JsonObject().put("id", "t1"));
        }
      });
      vertx.deployVerticle(new RulesVerticle(settings)).await(10, TimeUnit.SECONDS);
      JsonObject event = new JsonObject().put("id", "webhook:ci:1").put("type", "webhook").put("hook", "ci")
          .put("time", "2026-01-01T00:00:00Z").put("body", new JsonObject());
      // first hand-over: the submit fails with a 503, so the rules answer a failure and EventVerticle retries
      try {
        vertx.eventBus().request(Addresses.RULES_EVENT, event).await(10, TimeUnit.SECONDS);
      } catch (Exception expected) {
        // retryable failure
      }
      // the retry, 1 s later as EventVerticle.retryDelay(1) does
      JsonObject second = vertx.eventBus().<JsonObject>request(Addresses.RULES_EVENT, event).await(10, TimeUnit.SECONDS).body();
      assertEquals(2, submits.get(), "the retry never submitted the task; the event is now marked handled: " + second.encode());
    } finally {
      vertx.close();
    }
  }

  @Test
  @DisplayName("POST /api/v1/rules/test with an event that is not an object is a 400, not a timeout")
  void aTestBodyWhoseEventIsNotAnObjectIsA400NotATimeout(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("rules.yaml"), "rules:\n  - name: \"ci\"\n    on: { webhook: \"ci\" }\n    do:\n      - emit: { type: \"x\" }\n");
    RulesFile file = new RulesFile(new ConfigFiles(dir, k -> null), (t, b) -> Optional.empty());
    Vertx vertx = Vertx.vertx();
    try {
      LocalCodec.registerAll(vertx.eventBus());
      vertx.deployVerticle(new RulesVerticle(new RulesSettings(file, file.load()))).await(10, TimeUnit.SECONDS);
      Throwable t = null;
      try {
        vertx.eventBus().request(Addresses.RULES_TEST, new JsonObject().put("event", "not an object"),
            new io.vertx.core.eventbus.DeliveryOptions().setSendTimeout(3000)).await(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        t = e;
      }
      assertEquals(400, t instanceof io.vertx.core.eventbus.ReplyException re ? re.failureCode() : -1, String.valueOf(t));
    } finally {
      vertx.close();
    }
  }
}
