package dev.switchboard.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.agent.BotSkills;
import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@code skills: [...]} on a bot in channels.yaml: the skills of the agent that replies through
 * it, unless the rule's action names its own. Driven end to end through a plug-in channel's
 * inbound route ({@link AcmeChannelProvider}), with a fake model that records the tools offered.
 */
@DisplayName("Skills named by a bot")
class BotSkillsTest {

  static final String SECRET = "acme-secret";

  Vertx vertx;
  FakeUpstream upstream;
  FakePlatform receiver;
  TestGateway gateway;
  WebClient web;
  final List<List<String>> offered = Collections.synchronizedList(new ArrayList<>());
  final List<String> warnings = Collections.synchronizedList(new ArrayList<>());
  final Logger log = Logger.getLogger(BotSkills.class.getName());
  final Handler capture = new Handler() {
    @Override
    public void publish(LogRecord record) {
      warnings.add(record.getMessage());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeEach
  void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    receiver = FakePlatform.start(vertx, "{}").await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    upstream.script(body -> {
      List<String> names = new ArrayList<>();
      body.getJsonArray("tools", new JsonArray()).forEach(t -> names.add(((JsonObject) t).getJsonObject("function").getString("name")));
      offered.add(names);
      return new JsonObject().put("content", "answered");
    });
    log.addHandler(capture);
  }

  @AfterEach
  void stop() throws Exception {
    log.removeHandler(capture);
    if (gateway != null) {
      gateway.close();
    }
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  private void boot(String botSkills, String rulesYaml) {
    TestGateway.Builder builder = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            acme:
              - name: "desk"
                url: "%s"
                secret: "%s"
                skills: %s
            """.formatted(receiver.url("/acme"), SECRET, botSkills));
    if (rulesYaml != null) {
      builder.file("rules.yaml", rulesYaml);
    }
    gateway = builder.start();
  }

  /** A direct message to the bot; answers once its reply reached the platform (bounded). */
  private void converse(String text) throws Exception {
    JsonObject message = new JsonObject().put("message_id", "m-" + System.nanoTime())
        .put("chat", new JsonObject().put("id", "chat-7").put("type", "direct"))
        .put("from", new JsonObject().put("id", "u-1").put("name", "Ada"))
        .put("text", text).put("at_bot", false);
    Buffer raw = message.toBuffer();
    HttpResponse<Buffer> r = web.postAbs(gateway.url("/webhooks/acme/desk")).putHeader("content-type", "application/json")
        .putHeader("X-Acme-Signature", AcmeChannelProvider.signature(SECRET, raw.getBytes())).sendBuffer(raw)
        .await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    long deadline = System.currentTimeMillis() + 15_000;
    while (receiver.received().isEmpty()) {
      assertTrue(System.currentTimeMillis() < deadline, "the reply reached the platform");
      Thread.sleep(25);
    }
  }

  @Test
  @DisplayName("the conversation rule names no skills: the replying bot's skills are offered, and only they")
  void botSkillsOffered() throws Exception {
    boot("[\"current_time\"]", null);
    converse("what time is it");
    assertEquals(List.of(List.of("current_time")), offered);
  }

  @Test
  @DisplayName("an agent action's own skills: [...] win over the bot's")
  void actionSkillsWin() throws Exception {
    boot("[\"current_time\"]", """
        rules:
          - name: "conversation"
            on: { message: { mentioned: true } }
            do:
              - agent: { reply: true, skills: ["query_tasks"] }
        """);
    converse("what is queued");
    assertEquals(List.of(List.of("query_tasks")), offered);
  }

  @Test
  @DisplayName("a skill a bot names that no skill has is a start-up warning naming bot and skill, and is not offered")
  void unknownBotSkillWarned() throws Exception {
    boot("[\"current_time\", \"weather__forecast\"]", null);
    assertTrue(warnings.stream().anyMatch(w -> w.contains("bot acme/desk") && w.contains("'weather__forecast'")), warnings.toString());
    assertTrue(warnings.stream().noneMatch(w -> w.contains("'current_time'")), warnings.toString());
    converse("what time is it");
    assertEquals(List.of(List.of("current_time")), offered);
  }
}
