package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * A real full disk under the embedded store: a small tmpfs mounted where the data lives (the whole
 * data dir, or only the Lucene index), filled to the last byte, then emptied again. Mounting needs
 * root, which CI has ({@code scripts/test.sh} sets {@code CI=true}): there the test fails when it
 * cannot mount; elsewhere it is skipped.
 */
@DisplayName("Embedded memory on a full disk")
class EmbeddedDiskFullIT {

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;
  WebClient web;
  String token;
  Path mounted;
  final List<Path> fillers = new java.util.ArrayList<>();

  @BeforeEach
  void start() throws Exception {
    // the tokenizer's native library (14 MB) is unpacked into a cache folder: not onto the small disk
    if (System.getProperty("DJL_CACHE_DIR") == null) {
      System.setProperty("DJL_CACHE_DIR", Files.createTempDirectory("switchboard-djl").toString());
    }
    vertx = Vertx.vertx();
    web = WebClient.create(vertx);
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("SWITCHBOARD_STORAGE", "embedded").start();
    token = gateway.token("alice");
    // the data dir exists only once the gateway made it: stop, put the small disk there, start again on it
    gateway.stop();
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (gateway != null) {
        gateway.stop();
      }
    } finally {
      // unmounted before the gateway deletes its folders: a mount point cannot be deleted (EBUSY)
      if (mounted != null) {
        run("umount", "-l", mounted.toString());
      }
      if (gateway != null) {
        gateway.close();
      }
      vertx.close().await();
    }
  }

  @Test
  @DisplayName("writes answer 503 storage_full while the data dir's disk is full, and everything works again once there is room")
  void aFullDataDirIs503AndRecoversByItself() throws Exception {
    mountTmpfs(gateway.dataDir(), "64m");
    gateway.restart();
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready on the small disk");
    String scope = "user:disk";
    assertEquals(201, add("张三喜欢喝绿茶", scope).statusCode());
    remember("dingtalk:assistant:disk", "第一句", "好的");

    fill(gateway.dataDir());
    HttpResponse<Buffer> refused = add("李四在杭州办公室", scope);
    assertStorageFull(refused, gateway.dataDir());
    ReplyException turn = remembering("dingtalk:assistant:disk", "第二句", "收到");
    assertEquals(503, turn.failureCode(), turn.getMessage());
    assertTrue(turn.getMessage().contains("storage_full"), turn.getMessage());
    waitUntil(() -> get("/readyz").statusCode() == 503, "not ready while the disk is full");
    assertTrue(get("/readyz").bodyAsString().contains("is full"), get("/readyz").bodyAsString());
    assertEquals(List.of("张三喜欢喝绿茶"), contents(search("张三", scope)), "reading needs no room");

    free();
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready again, without a restart");
    assertEquals(201, add("李四在杭州办公室", scope).statusCode());
    remember("dingtalk:assistant:disk", "第二句", "收到");
    List<String> found = contents(search("张三 李四", scope));
    assertTrue(found.contains("张三喜欢喝绿茶") && found.contains("李四在杭州办公室"), found.toString());
    assertEquals(4, history("dingtalk:assistant:disk").size(), "the turns before and after");
  }

  @Test
  @DisplayName("a full disk under the index alone keeps writes in the store, and the index is rebuilt by itself once there is room")
  void aFullIndexDiskIsRebuiltByItself() throws Exception {
    Path index = gateway.dataDir().resolve(EmbeddedMemories.INDEX_DIR);
    Files.createDirectories(index);
    mountTmpfs(index, "8m");
    gateway.restart();
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready with the index on the small disk");
    String scope = "user:index";
    assertEquals(201, add("王五在市场部", scope).statusCode());

    fill(index);
    // the store (the truth) has room: a write is kept there; the index lags behind until it has room too
    assertEquals(201, add("赵六负责财务报销审批", scope).statusCode());
    waitUntil(() -> get("/readyz").statusCode() == 503, "not ready while the index cannot be written");
    String readiness = get("/readyz").bodyAsString();
    assertTrue(readiness.contains(index.toString()) && readiness.contains("is full"), readiness);
    assertEquals("王五在市场部", contents(search("王五", scope)).get(0), "searches go on with the last good index");

    free();
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready again, without a restart");
    List<String> found = contents(search("谁审批报销", scope));
    assertEquals("赵六负责财务报销审批", found.get(0), found.toString());
    assertEquals(201, add("钱七住在北京朝阳区", scope).statusCode());
    assertEquals("钱七住在北京朝阳区", contents(search("钱七住在哪里", scope)).get(0));
  }

  // ---------------------------------------------------------------------------------------------

  void mountTmpfs(Path dir, String size) throws Exception {
    Files.createDirectories(dir);
    String problem;
    try {
      problem = run("mount", "-t", "tmpfs", "-o", "size=" + size, "tmpfs", dir.toString());
    } catch (IOException e) {
      problem = e.getMessage();
    }
    if (problem != null) {
      if ("true".equals(System.getenv("CI"))) {
        fail("a full disk needs a tmpfs mount (as root), and mounting failed: " + problem);
      }
      Assumptions.abort("not able to mount a tmpfs here (needs root): " + problem);
    }
    mounted = dir;
  }

  /** Writes files until the disk refuses another byte (the gateway may free a little meanwhile: filled again). */
  void fill(Path dir) throws IOException {
    for (int round = 0; round < 10 && Files.getFileStore(dir).getUsableSpace() > 0; round++) {
      Path file = dir.resolve("filler-" + round);
      fillers.add(file);
      try (OutputStream out = Files.newOutputStream(file)) {
        for (int chunk : new int[] {1 << 20, 4096, 1}) {
          byte[] bytes = new byte[chunk];
          try {
            while (true) {
              out.write(bytes);
            }
          } catch (IOException full) {
            // next, smaller chunks fill what is left
          }
        }
      } catch (IOException ignored) {
        // closing a full file may fail too
      }
    }
    assertEquals(0, Files.getFileStore(dir).getUsableSpace(), "the disk is full");
  }

  void free() throws IOException {
    for (Path f : fillers) {
      Files.deleteIfExists(f);
    }
    fillers.clear();
  }

  /** Null when the command succeeded, else what it said. */
  static String run(String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      return String.join(" ", command) + " did not finish";
    }
    return p.exitValue() == 0 ? null : String.join(" ", command) + ": " + output;
  }

  static void assertStorageFull(HttpResponse<Buffer> r, Path dir) {
    assertEquals(503, r.statusCode(), r.bodyAsString());
    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
    assertEquals("storage_full", error.getString("code"), error.encode());
    assertTrue(error.getString("message").contains(dir.toString()), error.getString("message"));
  }

  HttpResponse<Buffer> add(String content, String scope) {
    return web.postAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token)
        .sendJsonObject(new JsonObject().put("content", content).put("scope", scope)).await();
  }

  JsonArray search(String q, String scope) {
    HttpResponse<Buffer> r = web.getAbs(gateway.url("/api/v1/memories/search")).bearerTokenAuthentication(token)
        .addQueryParam("q", q).addQueryParam("scope", scope).send().await();
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonArray("data");
  }

  HttpResponse<Buffer> get(String path) {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await();
  }

  void remember(String conversation, String question, String answer) {
    gateway.vertx().eventBus().request(Addresses.MEMORY_REMEMBER, turns(conversation, question, answer)).await();
  }

  ReplyException remembering(String conversation, String question, String answer) {
    try {
      remember(conversation, question, answer);
    } catch (ReplyException e) {
      return e;
    }
    throw new AssertionError("the turns were written to a full disk");
  }

  static JsonObject turns(String conversation, String question, String answer) {
    return new JsonObject().put("conversation", conversation).put("turns", new JsonArray()
        .add(new JsonObject().put("role", "user").put("content", question))
        .add(new JsonObject().put("role", "assistant").put("content", answer)));
  }

  JsonArray history(String conversation) {
    return gateway.vertx().eventBus().<JsonArray>request(Addresses.MEMORY_HISTORY,
        new JsonObject().put("conversation", conversation).put("limit", 500)).await().body();
  }

  static List<String> contents(JsonArray memories) {
    return memories.stream().map(m -> ((JsonObject) m).getString("content")).toList();
  }

  static void waitUntil(BooleanSupplier condition, String what) {
    long deadline = System.currentTimeMillis() + 30_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(100);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
