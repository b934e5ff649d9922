package dev.switchboard.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("POST/GET/DELETE /api/v1/schedules on the embedded profile")
class SchedulesApiTest {

  Vertx vertx;
  WebClient web;
  TestGateway gateway;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    gateway = TestGateway.builder().start();
  }

  @AfterEach
  void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  HttpResponse<Buffer> post(JsonObject body) throws Exception {
    return web.postAbs(gateway.url("/api/v1/schedules")).bearerTokenAuthentication(gateway.token("alice"))
        .sendJsonObject(body).await(10, TimeUnit.SECONDS);
  }

  JsonArray list() throws Exception {
    HttpResponse<Buffer> r = web.getAbs(gateway.url("/api/v1/schedules")).bearerTokenAuthentication(gateway.token("alice"))
        .send().await(10, TimeUnit.SECONDS);
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonArray("data");
  }

  int delete(String rule) throws Exception {
    return web.deleteAbs(gateway.url("/api/v1/schedules/" + rule)).bearerTokenAuthentication(gateway.token("alice"))
        .send().await(10, TimeUnit.SECONDS).statusCode();
  }

  static JsonObject rule(String name, JsonObject schedule) {
    return new JsonObject().put("name", name).put("on", new JsonObject().put("schedule", schedule))
        .put("do", new JsonArray().add(new JsonObject().put("emit", new JsonObject().put("type", "tick"))));
  }

  @Test
  @DisplayName("a schedule made through the API is listed with its next firing, and kept across a restart")
  void keptAcrossRestart() throws Exception {
    HttpResponse<Buffer> created = post(rule("weekly", new JsonObject().put("cron", "0 0 9 ? * MON").put("timezone", "Asia/Shanghai")));
    assertEquals(201, created.statusCode(), created.bodyAsString());
    JsonObject entry = created.bodyAsJsonObject();
    assertEquals("weekly", entry.getString("rule"));
    assertEquals("api", entry.getString("source"));
    String next = entry.getString("next_fire");
    assertTrue(next != null && entry.containsKey("last_fire"), entry.encode());

    gateway.restart();
    JsonArray after = list();
    assertEquals(1, after.size(), after.encode());
    assertEquals("weekly", after.getJsonObject(0).getString("rule"));
    assertEquals(next, after.getJsonObject(0).getString("next_fire"));
    assertEquals("api", after.getJsonObject(0).getString("source"));
  }

  @Test
  @DisplayName("a second schedule of one name is 409; a bad cron is 400 and says why")
  void refusals() throws Exception {
    assertEquals(201, post(rule("pulse", new JsonObject().put("every", "10m"))).statusCode());
    HttpResponse<Buffer> again = post(rule("pulse", new JsonObject().put("every", "1h")));
    assertEquals(409, again.statusCode(), again.bodyAsString());
    HttpResponse<Buffer> bad = post(rule("broken", new JsonObject().put("cron", "every day")));
    assertEquals(400, bad.statusCode(), bad.bodyAsString());
    assertTrue(bad.bodyAsJsonObject().getJsonObject("error").getString("message").contains("Quartz"), bad.bodyAsString());
  }

  @Test
  @DisplayName("DELETE removes an API schedule (204), then it is 404")
  void deleteThenGone() throws Exception {
    assertEquals(201, post(rule("pulse", new JsonObject().put("every", "10m"))).statusCode());
    assertEquals(204, delete("pulse"));
    assertEquals(0, list().size());
    assertEquals(404, delete("pulse"));
  }
}
