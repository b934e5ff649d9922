package dev.switchboard.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakePlatform;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PushMessageSkillTest {

  static Vertx fakes;
  static FakePlatform hook;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    fakes = Vertx.vertx();
    FakeUpstream upstream = FakeUpstream.start(fakes).await(10, TimeUnit.SECONDS);
    hook = FakePlatform.start(fakes, "{}").await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("channels.yaml", """
            webhooks:
              - name: "erp"
                url: "%s"
                secret: "hook-secret-0123456789"
            """.formatted(hook.url("/erp"))).start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    fakes.close().await(10, TimeUnit.SECONDS);
  }

  @Test
  void theTextReachesTheConfiguredBot() throws Exception {
    String answer = run("task:t1", "webhook", "erp", "stock is low");
    assertTrue(answer.startsWith("queued for webhook/erp"), answer);
    assertEquals(1, arrived("stock is low").size());
  }

  @Test
  void anUnknownBotIsRefusedBeforeAnythingIsRecorded() throws Exception {
    Exception e = assertThrows(Exception.class, () -> run("task:t2", "webhook", "nobody", "hi"));
    assertTrue(e.getMessage().contains("nobody"), e.getMessage());
    JsonObject page = gateway.vertx().eventBus().<JsonObject>request(dev.switchboard.bus.Addresses.CHANNEL_DELIVERIES,
        new JsonObject().put("bot", "nobody")).await(10, TimeUnit.SECONDS).body();
    assertEquals(0, page.getJsonArray("data").size(), page.encode());
  }

  @Test
  void theSameTextTwiceInOneRunIsOneDelivery() throws Exception {
    String first = run("task:t3", "webhook", "erp", "once only");
    String second = run("task:t3", "webhook", "erp", "once only");
    assertEquals(id(first), id(second));
    arrived("once only");
    Thread.sleep(300);
    assertEquals(1, arrived("once only").size(), hook.received().toString());
  }

  private static String id(String answer) {
    return answer.replaceAll(".*\\(delivery ([^,]+),.*", "$1");
  }

  /** The pushes that carried this text, once at least one has arrived (bounded: 10 s). */
  private static List<FakePlatform.Received> arrived(String text) throws InterruptedException {
    long deadline = System.currentTimeMillis() + 10_000;
    List<FakePlatform.Received> found;
    do {
      found = hook.received().stream().filter(r -> r.body().contains(text)).toList();
      if (!found.isEmpty()) {
        return found;
      }
      Thread.sleep(20);
    } while (System.currentTimeMillis() < deadline);
    throw new AssertionError("no push with '" + text + "' arrived: " + hook.received());
  }

  private static String run(String ref, String channel, String bot, String text) throws Exception {
    JsonObject args = new JsonObject().put("channel", channel).put("bot", bot).put("text", text);
    return new PushMessageSkill().run(new SkillCall(args, List.of(), ref, gateway.vertx())).await(10, TimeUnit.SECONDS);
  }
}
