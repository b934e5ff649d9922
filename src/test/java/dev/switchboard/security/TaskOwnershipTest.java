package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** A client's tasks are its own: another client cannot see, cancel or retry them; operators see all. */
@DisplayName("Task ownership")
class TaskOwnershipTest {

  static Vertx client;
  static WebClient web;
  static TestGateway gateway;
  static String alice = RolesTest.token("alice", new JsonObject().put("roles", new JsonArray().add("client")));
  static String bob = RolesTest.token("bob", new JsonObject().put("roles", new JsonArray().add("client")));
  static String aliceTask;

  @BeforeAll
  static void start() throws Exception {
    client = Vertx.vertx();
    web = WebClient.create(client);
    FakeUpstream upstream = FakeUpstream.start(client).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model").start();
    HttpResponse<Buffer> submitted = web.postAbs(gateway.url("/api/v1/tasks")).bearerTokenAuthentication(alice)
        .sendJsonObject(new JsonObject().put("input", "alice's question").put("delay", "1h")).await(10, TimeUnit.SECONDS);
    assertEquals(202, submitted.statusCode(), submitted.bodyAsString());
    aliceTask = submitted.bodyAsJsonObject().getString("id");
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    client.close().await(10, TimeUnit.SECONDS);
  }

  private static HttpResponse<Buffer> get(String path, String token) throws Exception {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("the owner reads its task, and sees its subject")
  void ownerReads() throws Exception {
    HttpResponse<Buffer> r = get("/api/v1/tasks/" + aliceTask, alice);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    assertEquals("alice", r.bodyAsJsonObject().getString("subject"));
  }

  @Test
  @DisplayName("another client gets 404 for it, as for a task that does not exist")
  void anotherClientCannotRead() throws Exception {
    HttpResponse<Buffer> r = get("/api/v1/tasks/" + aliceTask, bob);
    assertEquals(404, r.statusCode(), r.bodyAsString());
    assertTrue(r.bodyAsString().contains("task_not_found"), r.bodyAsString());
  }

  @Test
  @DisplayName("another client can neither cancel nor retry it")
  void anotherClientCannotCancelOrRetry() throws Exception {
    for (String action : new String[] {"cancel", "retry"}) {
      HttpResponse<Buffer> r = web.postAbs(gateway.url("/api/v1/tasks/" + aliceTask + "/" + action))
          .bearerTokenAuthentication(bob).send().await(10, TimeUnit.SECONDS);
      assertEquals(404, r.statusCode(), action + ": " + r.bodyAsString());
    }
    assertEquals("queued", get("/api/v1/tasks/" + aliceTask, alice).bodyAsJsonObject().getString("status"));
  }

  @Test
  @DisplayName("a client's list holds its own tasks only; an operator's holds everyone's")
  void listsAreScoped() throws Exception {
    JsonArray bobs = get("/api/v1/tasks", bob).bodyAsJsonObject().getJsonArray("data");
    assertTrue(bobs.stream().noneMatch(t -> aliceTask.equals(((JsonObject) t).getString("id"))), bobs.encode());
    JsonArray alices = get("/api/v1/tasks", alice).bodyAsJsonObject().getJsonArray("data");
    assertTrue(alices.stream().anyMatch(t -> aliceTask.equals(((JsonObject) t).getString("id"))), alices.encode());
    JsonArray operators = get("/api/v1/tasks", RolesTest.role("operator")).bodyAsJsonObject().getJsonArray("data");
    assertTrue(operators.stream().anyMatch(t -> aliceTask.equals(((JsonObject) t).getString("id"))), operators.encode());
  }
}
