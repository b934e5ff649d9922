package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What memory promises, whatever stores the profile picks: the same suite runs against the
 * embedded store ({@link EmbeddedMemoryTest}) and against Redis and PostgreSQL with pgvector
 * ({@link DistributedMemoryIT}). Embeddings come from the real local model, so "meaning" here is
 * the model's, not a test double's.
 */
@ExtendWith(VertxExtension.class)
abstract class MemoryBehaviour {

  static final String WINDOW = """
      queue:
        workers: 1
      memory:
        short_term:
          ttl: 3s
          max_turns: 2
      """;

  Vertx vertx;
  FakeUpstream upstream;
  TestGateway gateway;
  WebClient web;
  String token;
  /** Unique per test, so runs against shared Redis and PostgreSQL never meet. */
  String run;

  /** The profile under test: storage settings on top of the shipped configuration. */
  abstract TestGateway.Builder profile(TestGateway.Builder builder);

  @BeforeEach
  void start(Vertx vertx) throws Exception {
    this.vertx = vertx;
    run = UUID.randomUUID().toString().substring(0, 8);
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    web = WebClient.create(vertx);
    gateway = profile(TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "gpt-test")
        .file("switchboard.yaml", WINDOW)).start();
    token = gateway.token("alice");
    waitUntil(() -> get("/readyz").statusCode() == 200, "gateway ready");
  }

  @AfterEach
  void stop() {
    if (gateway != null) {
      gateway.close();
    }
  }

  // ---------------------------------------------------------------------------------------------
  // long-term: writes

  @Test
  void theSameContentInTheSameScopeIsStoredOnce() {
    String scope = "user:" + run;
    JsonObject first = add("张三喜欢喝绿茶", scope);
    JsonObject second = add("张三喜欢喝绿茶", scope);
    assertEquals("created", first.getString("status"));
    assertEquals("duplicate", second.getString("status"));
    assertEquals(first.getString("id"), second.getString("id"));
    assertEquals(1, list(scope, null).size());
  }

  @Test
  void fullWidthAndHalfWidthPunctuationMakeNoSecondCopyAndTheWritersFormIsKept() {
    String scope = "user:" + run;
    JsonObject first = add("会议室：３０１", scope);
    JsonObject second = add("会议室:301", scope);
    assertEquals("duplicate", second.getString("status"));
    assertEquals(first.getString("id"), second.getString("id"));
    assertEquals("会议室：３０１", list(scope, null).getJsonObject(0).getString("content"));
  }

  @Test
  void aNearDuplicateUpdatesTheStoredMemoryInPlace() {
    String scope = "user:" + run;
    JsonObject first = add("张三喜欢喝绿茶", scope);
    JsonObject second = add("张三很喜欢喝绿茶", scope);
    assertEquals("updated", second.getString("status"));
    assertEquals(first.getString("id"), second.getString("id"));
    JsonArray active = list(scope, null);
    assertEquals(1, active.size());
    assertEquals("张三很喜欢喝绿茶", active.getJsonObject(0).getString("content"));
    JsonObject memory = json(get("/api/v1/memories/" + first.getString("id")));
    assertTrue(memory.getJsonArray("history").stream().anyMatch(h -> "updated".equals(((JsonObject) h).getString("event"))
        && "张三喜欢喝绿茶".equals(((JsonObject) h).getString("content"))), "the old wording stays in the history");
  }

  @Test
  void aContradictionSupersedesTheOldMemoryAndKeepsIt() {
    String scope = "conversation:dingtalk:" + run;
    JsonObject old = add("项目周会在每周二下午三点", scope);
    JsonObject replacement = add("项目周会在每周四下午三点", scope);
    assertEquals("superseded", replacement.getString("status"));
    assertNotEquals(old.getString("id"), replacement.getString("id"));
    JsonArray active = list(scope, null);
    assertEquals(1, active.size());
    assertEquals(replacement.getString("id"), active.getJsonObject(0).getString("id"));
    JsonObject kept = json(get("/api/v1/memories/" + old.getString("id")));
    assertEquals("superseded", kept.getString("status"));
    assertEquals(replacement.getString("id"), kept.getString("superseded_by"));
    assertEquals(1, list(scope, "superseded").size());
    JsonArray found = search("周会是哪天", scope, 5);
    assertEquals(replacement.getString("id"), found.getJsonObject(0).getString("id"), "the newer fact is recalled");
    assertTrue(found.stream().noneMatch(f -> old.getString("id").equals(((JsonObject) f).getString("id"))));
  }

  @Test
  void aClientCanNameTheMemoryItSupersedes() {
    String scope = "user:" + run;
    JsonObject old = add("李四在杭州办公室", scope);
    HttpResponse<Buffer> r = post("/api/v1/memories", new JsonObject().put("content", "李四搬到了深圳").put("scope", scope)
        .put("supersedes", old.getString("id")));
    assertEquals(201, r.statusCode());
    assertEquals("superseded", json(r).getString("status"));
    assertEquals("superseded", json(get("/api/v1/memories/" + old.getString("id"))).getString("status"));
  }

  @Test
  void expiredMemoriesAreNotRecalled() throws Exception {
    String scope = "user:" + run;
    add("常用会议室是三楼的301", scope); // the scope stays non-empty: the search itself must leave the expired one out
    Instant soon = Instant.now().plusSeconds(2);
    HttpResponse<Buffer> r = post("/api/v1/memories", new JsonObject().put("content", "临时门禁密码是4321").put("scope", scope)
        .put("expires_at", soon.toString()));
    assertEquals(201, r.statusCode());
    assertTrue(contents(search("门禁密码", scope, 5)).contains("临时门禁密码是4321"));
    waitUntil(() -> Instant.now().isAfter(soon.plusMillis(200)), "expiry");
    assertFalse(contents(search("门禁密码", scope, 5)).contains("临时门禁密码是4321"));
    assertEquals(List.of("常用会议室是三楼的301"), contents(list(scope, null)));
  }

  // ---------------------------------------------------------------------------------------------
  // long-term: finding

  @Test
  void oneGroupNeverSeesAnotherGroupsMemories() {
    String groupA = "conversation:dingtalk:a-" + run;
    String groupB = "conversation:dingtalk:b-" + run;
    add("A组的发布窗口是周五晚上", groupA);
    add("B组的值班电话是8008", groupB);
    JsonArray inB = search("发布窗口是什么时候", groupB, 10);
    assertTrue(inB.stream().allMatch(m -> groupB.equals(((JsonObject) m).getString("scope"))), inB.encode());
    assertTrue(inB.stream().noneMatch(m -> ((JsonObject) m).getString("content").contains("发布窗口")));
    JsonArray inA = search("发布窗口是什么时候", groupA, 10);
    assertEquals("A组的发布窗口是周五晚上", inA.getJsonObject(0).getString("content"));
    assertEquals(0, list(groupB, null).stream().filter(m -> ((JsonObject) m).getString("content").contains("A组")).count());
  }

  @Test
  void aKeywordOnlyMatchIsFound() {
    String scope = "tenant:" + run;
    add("公司年会定在十二月二十日", scope);
    add("服务器机房在三楼东侧", scope);
    add("资产编号 SKU7731 的保修在2027年到期", scope);
    JsonArray found = search("SKU7731", scope, 3);
    assertEquals("资产编号 SKU7731 的保修在2027年到期", found.getJsonObject(0).getString("content"));
    JsonObject signals = found.getJsonObject(0).getJsonObject("signals");
    assertEquals(1.0, signals.getDouble("keyword"), "the keyword half found it: " + signals);
    assertTrue(found.stream().skip(1).allMatch(m -> ((JsonObject) m).getJsonObject("signals").getDouble("keyword") == 0));
  }

  @Test
  void aLongQueryFindsAMemoryByItsWordsAsAShortOneDoes() {
    String scope = "tenant:" + run;
    add("公司年会定在十二月二十日", scope);
    add("资产编号 SKU7731 的保修在2027年到期", scope);
    // a short query is cut into words in place, a long one on a worker: both reach the keyword half
    String longQuery = "please look up when the warranty of this laptop runs out, our records call it SKU7731, thanks";
    assertTrue(longQuery.length() > LongTermMemory.INLINE_QUERY_CHARS, "the query must be long: " + longQuery.length());
    for (String q : List.of("SKU7731", longQuery)) {
      JsonObject hit = search(q, scope, 2).stream().map(m -> (JsonObject) m)
          .filter(m -> m.getString("content").contains("SKU7731")).findFirst().orElseThrow(() -> new AssertionError(q));
      assertEquals(1.0, hit.getJsonObject("signals").getDouble("keyword"), "the keyword half found it for " + q + ": " + hit);
    }
  }

  @Test
  void aQueryOfCommonWordsStillFindsTheMemoriesHoldingThem() {
    String scope = "tenant:" + run;
    add("我每天早上喝咖啡", scope);
    add("我每天早上跑步", scope);
    add("服务器机房在三楼东侧", scope);
    JsonArray found = search("每天早上", scope, 3);
    for (int i = 0; i < 2; i++) {
      JsonObject m = found.getJsonObject(i);
      assertTrue(m.getString("content").contains("每天早上"), found.encode());
      assertTrue(m.getJsonObject("signals").getDouble("keyword") > 0, "the keyword half found it: " + m);
    }
  }

  @Test
  void aMeaningOnlyMatchIsFoundByAChineseQueryPhrasedDifferently() {
    String scope = "tenant:" + run;
    add("公司年会定在十二月二十日", scope);
    add("服务器机房在三楼东侧", scope);
    add("小李每天早上骑自行车上班", scope);
    // no word of the query is in the memory: only the meaning connects them
    List<String> query = List.copyOf(Segmenter.distinct("谁是骑车通勤的"));
    assertTrue(query.stream().noneMatch(Segmenter.distinct("小李每天早上骑自行车上班")::contains), query.toString());
    JsonArray found = search("谁是骑车通勤的", scope, 3);
    assertEquals("小李每天早上骑自行车上班", found.getJsonObject(0).getString("content"));
    JsonObject signals = found.getJsonObject(0).getJsonObject("signals");
    assertEquals(0.0, signals.getDouble("keyword"), "no word matched: " + signals);
    assertTrue(signals.getDouble("similarity") > 0.4, "the meaning did: " + signals);
  }

  @Test
  void listsPageNewestFirst() {
    String scope = "agent:" + run;
    for (String fact : List.of("第一条：办公室在五楼", "第二条：午饭十二点开始", "第三条：周报周一交")) {
      add(fact, scope);
    }
    JsonObject page = json(get("/api/v1/memories?scope=" + scope + "&limit=2"));
    assertEquals(2, page.getJsonArray("data").size());
    assertTrue(page.getJsonArray("data").getJsonObject(0).getString("content").startsWith("第三条"));
    // the memory a page ended at may go away before the next page is asked for
    assertEquals(204, delete("/api/v1/memories/" + page.getJsonArray("data").getJsonObject(1).getString("id")).statusCode());
    JsonObject rest = json(get("/api/v1/memories?scope=" + scope + "&limit=2&cursor=" + page.getString("next_cursor")));
    assertEquals(1, rest.getJsonArray("data").size());
    assertTrue(rest.getJsonArray("data").getJsonObject(0).getString("content").startsWith("第一条"));
    assertNull(rest.getString("next_cursor"));
    assertError(get("/api/v1/memories?scope=" + scope + "&cursor=not-a-cursor"), 400, "cursor");
  }

  @Test
  void aDeletedMemoryIsGone() {
    String scope = "user:" + run;
    add("王五在市场部", scope); // the scope stays non-empty: the search itself must leave the deleted one out
    String id = add("王五的生日是三月八日", scope).getString("id");
    assertEquals(204, delete("/api/v1/memories/" + id).statusCode());
    assertEquals(404, get("/api/v1/memories/" + id).statusCode());
    assertEquals(List.of("王五在市场部"), contents(search("王五生日", scope, 5)));
    assertEquals(404, delete("/api/v1/memories/" + id).statusCode());
  }

  @Test
  void badRequestsAreRefusedWithAClearError() {
    assertError(post("/api/v1/memories", new JsonObject().put("content", "x")), 400, "'content' and 'scope'");
    assertError(post("/api/v1/memories", new JsonObject().put("content", "x").put("scope", "group-1")), 400, "user:<id>");
    assertError(post("/api/v1/memories", new JsonObject().put("content", "  ").put("scope", "user:" + run)), 400, "non-empty");
    assertError(post("/api/v1/memories", new JsonObject().put("content", "x").put("scope", "user:" + run)
        .put("expires_at", "tomorrow")), 400, "ISO-8601");
    assertError(get("/api/v1/memories/search?scope=user:" + run), 400, "'q'");
    assertError(get("/api/v1/memories/search?q=x"), 400, "scope");
    HttpResponse<Buffer> malformed = web.postAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token)
        .putHeader("content-type", "application/json").sendBuffer(Buffer.buffer("{not json")).await();
    assertEquals(400, malformed.statusCode());
    assertEquals(401, web.getAbs(gateway.url("/api/v1/memories?scope=user:" + run)).send().await().statusCode());
  }

  @Test
  @org.junit.jupiter.api.DisplayName("every wrongly typed field of the memory API is a 400 naming it, never a 500")
  void wronglyTypedFieldsAre400NamingTheField() {
    String scope = "user:" + run;
    JsonObject ok = new JsonObject().put("content", "孙八在二楼").put("scope", scope);
    java.util.Map<String, JsonObject> bodies = new java.util.LinkedHashMap<>();
    for (Object wrong : new Object[] {42, true, new JsonArray().add("x"), new JsonObject().put("a", 1)}) {
      bodies.put("content", ok.copy().put("content", wrong));
      bodies.put("scope", ok.copy().put("scope", wrong));
      bodies.put("supersedes", ok.copy().put("supersedes", wrong));
      bodies.put("expires_at", ok.copy().put("expires_at", wrong instanceof Number ? 1e30 : wrong));
      if (!(wrong instanceof JsonObject)) {
        bodies.put("source", ok.copy().put("source", wrong));
      }
      bodies.forEach((field, body) -> assertError(post("/api/v1/memories", body), 400, "'" + field + "'"));
      bodies.clear();
    }
    assertError(post("/api/v1/memories", ok.copy().putNull("content")), 400, "'content'");
    assertError(post("/api/v1/memories", ok.copy().put("content", "\u200b\u200b")), 400, "'content'");
    assertError(post("/api/v1/memories", ok.copy().put("expires_at", -5)), 400, "'expires_at'");
    assertError(post("/api/v1/memories", ok.copy().put("source", new JsonObject().put("note", "长".repeat(5000)))), 400, "'source'");
    assertError(get("/api/v1/memories/search?q=%E2%80%8B&scope=" + scope), 400, "'q'");
    assertError(get("/api/v1/memories/search?q=x&k=many&scope=" + scope), 400, "k");
    assertError(get("/api/v1/memories?scope=" + scope + "&status=gone"), 400, "'status'");
    assertError(get("/api/v1/memories?scope=" + scope + "&limit=-1"), 400, "limit");
    // U+0000 cannot be stored by PostgreSQL: refused in every profile alike
    assertError(post("/api/v1/memories", ok.copy().put("content", "孙八\u0000在二楼")), 400, "'content'");
    assertError(post("/api/v1/memories", ok.copy().put("scope", "user:\u0000")), 400, "'scope'");
    assertError(post("/api/v1/memories", ok.copy().put("source", new JsonObject().put("channel", "a\u0000"))), 400, "'source'");
    assertError(post("/api/v1/memories", ok.copy().put("supersedes", "mem_\u0000")), 404, "mem_");
    assertError(get("/api/v1/memories/search?q=a%00b&scope=" + scope), 400, "'q'");
    // ids are whatever a client typed: unknown ones are simply not there
    assertEquals(404, get("/api/v1/memories/" + "x".repeat(2000)).statusCode());
    assertEquals(404, delete("/api/v1/memories/%00").statusCode());
  }

  @Test
  void memoriesSurviveARestart() {
    String scope = "user:" + run;
    String id = add("赵六负责财务报销审批", scope).getString("id");
    gateway.restart();
    waitUntil(() -> get("/readyz").statusCode() == 200, "ready after restart");
    JsonArray found = search("谁审批报销", scope, 3);
    assertEquals(id, found.getJsonObject(0).getString("id"));
  }

  @Test
  void changingTheEmbeddingModelReindexesEveryMemoryInsteadOfMixingVectors() {
    String scope = "user:" + run;
    String first = add("钱七住在北京朝阳区", scope).getString("id");
    add("钱七的车牌是京A12345", scope);
    String models = "providers:\n"
        + "  - { name: default, type: api_gateway, endpoint: \"${MODEL_ENDPOINT}\", auth: { type: api_key, key: \"${MODEL_API_KEY}\" }, models: [\"*\"] }\n"
        + "default_model: gpt-test\n"
        + "embeddings: { provider: default, model: fake-embed }\n";
    gateway.restartWith("model_provider.yaml", models);
    waitUntil(() -> {
      JsonObject memory = json(get("/readyz")).getJsonObject("components").getJsonObject("long_term_memory");
      return "up".equals(memory.getString("status")) && "default:fake-embed".equals(memory.getString("embeddings"))
          && !memory.getBoolean("reindexing");
    }, "re-indexed with the new model");
    List<String> embedded = upstream.embeddingRequests().stream()
        .flatMap(r -> r.getJsonArray("input").stream().map(String::valueOf)).toList();
    assertTrue(embedded.contains("钱七住在北京朝阳区") && embedded.contains("钱七的车牌是京A12345"), embedded.toString());
    // the fake model's vector of a text is a hash of it: only the new vectors can match this exactly
    JsonObject top = search("钱七住在北京朝阳区", scope, 1).getJsonObject(0);
    assertEquals(first, top.getString("id"));
  }

  // ---------------------------------------------------------------------------------------------
  // the agent uses it

  @Test
  void aChatCompletionCanOptIntoTheUsersMemories() {
    add("alice 喜欢简短的回答，用中文", "user:alice-" + run);
    JsonObject chat = new JsonObject().put("model", "gpt-test").put("user", "alice-" + run).put("memory", true)
        .put("messages", new JsonArray().add(new JsonObject().put("role", "user").put("content", "回答要多长？")));
    assertEquals(200, post("/v1/chat/completions", chat).statusCode());
    JsonObject sent = upstream.chatRequests().get(upstream.chatRequests().size() - 1);
    assertFalse(sent.containsKey("memory"), "the opt-in field is not passed upstream");
    String system = sent.getJsonArray("messages").getJsonObject(0).getString("content");
    assertTrue(system.contains("alice 喜欢简短的回答"), system);
  }

  @Test
  void aTaskRecallsItsScopesMemoriesIntoThePrompt() {
    String scope = "conversation:feishu:" + run;
    add("本组的代码仓库在 git.example.com/team", scope);
    JsonObject task = new JsonObject().put("input", "代码仓库地址是什么").put("model", "gpt-test").put("memory_scope", scope);
    String id = json(post("/api/v1/tasks", task)).getString("id");
    waitUntil(() -> "succeeded".equals(json(get("/api/v1/tasks/" + id)).getString("status")), "task done");
    JsonObject sent = upstream.chatRequests().get(upstream.chatRequests().size() - 1);
    assertTrue(sent.getJsonArray("messages").getJsonObject(0).getString("content").contains("git.example.com/team"));
    assertNotNull(sent.getJsonArray("tools"), "remember/recall are offered");
  }

  @Test
  void theAgentCanRememberAFactWithTheRememberSkill() {
    String scope = "user:bob-" + run;
    JsonObject toolCall = new JsonObject().put("id", "call_1").put("type", "function").put("function", new JsonObject()
        .put("name", "remember").put("arguments", new JsonObject().put("content", "bob 的工位在 A-301").encode()));
    upstream.respondWith(200, new JsonObject().put("id", "c1").put("object", "chat.completion").put("model", "gpt-test")
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "tool_calls")
            .put("message", new JsonObject().put("role", "assistant").putNull("content")
                .put("tool_calls", new JsonArray().add(toolCall))))).encode()).failTimes(1);
    JsonObject task = new JsonObject().put("input", "记住我的工位在 A-301").put("model", "gpt-test").put("memory_scope", scope);
    String id = json(post("/api/v1/tasks", task)).getString("id");
    waitUntil(() -> "succeeded".equals(json(get("/api/v1/tasks/" + id)).getString("status")), "task done");
    assertEquals("bob 的工位在 A-301", list(scope, null).getJsonObject(0).getString("content"));
    JsonArray second = upstream.chatRequests().get(upstream.chatRequests().size() - 1).getJsonArray("messages");
    assertEquals("tool", second.getJsonObject(second.size() - 1).getString("role"));
  }

  @Test
  void aModelThatOnlyEverCallsToolsCannotKeepATaskRunning() {
    JsonObject toolCall = new JsonObject().put("id", "call_x").put("type", "function").put("function", new JsonObject()
        .put("name", "recall").put("arguments", new JsonObject().put("query", "x").encode()));
    upstream.respondWith(200, new JsonObject().put("id", "c2").put("object", "chat.completion").put("model", "gpt-test")
        .put("choices", new JsonArray().add(new JsonObject().put("index", 0).put("finish_reason", "tool_calls")
            .put("message", new JsonObject().put("role", "assistant").putNull("content")
                .put("tool_calls", new JsonArray().add(toolCall))))).encode());
    JsonObject task = new JsonObject().put("input", "查一下").put("model", "gpt-test").put("memory_scope", "user:" + run);
    String id = json(post("/api/v1/tasks", task)).getString("id");
    waitUntil(() -> "failed".equals(json(get("/api/v1/tasks/" + id)).getString("status")), "the task given up");
    assertTrue(json(get("/api/v1/tasks/" + id)).getString("error").contains("kept calling tools"));
    // the step budget's calls and a last call without tools, for each of the task's attempts
    assertTrue(upstream.chatRequests().size() <= (dev.switchboard.agent.AgentRunner.DEFAULT_STEPS + 1) * 5,
        "calls: " + upstream.chatRequests().size());
  }

  @Test
  void embeddingsComeFromTheLocalModel() {
    JsonObject answer = json(post("/v1/embeddings", new JsonObject().put("model", "bge-small-zh-v1.5").put("input",
        new JsonArray().add("你好").add("hello"))));
    JsonArray data = answer.getJsonArray("data");
    assertEquals(2, data.size());
    JsonArray v = data.getJsonObject(0).getJsonArray("embedding");
    assertEquals(512, v.size());
    double norm = 0;
    for (int i = 0; i < v.size(); i++) {
      norm += v.getDouble(i) * v.getDouble(i);
    }
    assertEquals(1.0, norm, 1e-3);
  }

  // ---------------------------------------------------------------------------------------------
  // short-term

  @Test
  void aConversationKeepsItsRecentTurnsAndSummarisesTheOlderOnes() {
    String conversation = "dingtalk:assistant:" + run;
    for (int i = 1; i <= 4; i++) {
      remember(conversation, "问题" + i, "回答" + i);
    }
    waitUntil(() -> history(conversation).size() == 5, "a window of two turns after a summary");
    JsonArray window = history(conversation);
    String summary = window.getJsonObject(0).getString("content");
    assertEquals("system", window.getJsonObject(0).getString("role"));
    assertTrue(summary.contains("问题1") && summary.contains("回答2"), summary);
    assertEquals("问题3", window.getJsonObject(1).getString("content"));
    assertEquals("回答4", window.getJsonObject(4).getString("content"));
  }

  @Test
  void aConversationIsForgottenAfterItsTtlUnlessItGoesOn() throws Exception {
    String conversation = "feishu:assistant:" + run;
    remember(conversation, "第一句", "好的");
    Thread.sleep(2000);
    remember(conversation, "第二句", "收到"); // activity: the 3 s TTL starts again
    Thread.sleep(2000);
    assertEquals(4, history(conversation).size(), "4 s after the first turn, but 2 s after the last");
    waitUntil(() -> history(conversation).isEmpty(), "forgotten 3 s after the last turn");
  }

  @Test
  void twoConversationsDoNotShareTurns() {
    remember("dingtalk:assistant:x-" + run, "甲的问题", "甲的回答");
    remember("dingtalk:assistant:y-" + run, "乙的问题", "乙的回答");
    JsonArray x = history("dingtalk:assistant:x-" + run);
    assertEquals(2, x.size());
    assertEquals("甲的问题", x.getJsonObject(0).getString("content"));
  }

  // ---------------------------------------------------------------------------------------------
  // helpers

  JsonObject add(String content, String scope) {
    HttpResponse<Buffer> r = post("/api/v1/memories", new JsonObject().put("content", content).put("scope", scope)
        .put("source", new JsonObject().put("channel", "test")));
    assertEquals(201, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject();
  }

  JsonArray search(String q, String scope, int k) {
    HttpResponse<Buffer> r = web.getAbs(gateway.url("/api/v1/memories/search")).bearerTokenAuthentication(token)
        .addQueryParam("q", q).addQueryParam("scope", scope).addQueryParam("k", String.valueOf(k)).send().await();
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonArray("data");
  }

  JsonArray list(String scope, String status) {
    var req = web.getAbs(gateway.url("/api/v1/memories")).bearerTokenAuthentication(token).addQueryParam("scope", scope);
    if (status != null) {
      req.addQueryParam("status", status);
    }
    HttpResponse<Buffer> r = req.send().await();
    assertEquals(200, r.statusCode(), r.bodyAsString());
    return r.bodyAsJsonObject().getJsonArray("data");
  }

  void remember(String conversation, String question, String answer) {
    gateway.vertx().eventBus().request(Addresses.MEMORY_REMEMBER, new JsonObject().put("conversation", conversation)
        .put("turns", new JsonArray()
            .add(new JsonObject().put("role", "user").put("content", question))
            .add(new JsonObject().put("role", "assistant").put("content", answer)))).await();
  }

  JsonArray history(String conversation) {
    return gateway.vertx().eventBus().<JsonArray>request(Addresses.MEMORY_HISTORY,
        new JsonObject().put("conversation", conversation).put("limit", 500)).await().body();
  }

  HttpResponse<Buffer> post(String path, JsonObject body) {
    return web.postAbs(gateway.url(path)).bearerTokenAuthentication(token).sendJsonObject(body).await();
  }

  HttpResponse<Buffer> get(String path) {
    return web.getAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await();
  }

  HttpResponse<Buffer> delete(String path) {
    return web.deleteAbs(gateway.url(path)).bearerTokenAuthentication(token).send().await();
  }

  static List<String> contents(JsonArray memories) {
    return memories.stream().map(m -> ((JsonObject) m).getString("content")).toList();
  }

  static JsonObject json(HttpResponse<Buffer> r) {
    return r.bodyAsJsonObject();
  }

  static void assertError(HttpResponse<Buffer> r, int status, String says) {
    assertEquals(status, r.statusCode(), r.bodyAsString());
    String message = r.bodyAsJsonObject().getJsonObject("error").getString("message");
    assertTrue(message.contains(says), message);
  }

  static void waitUntil(BooleanSupplier condition, String what) {
    long deadline = System.currentTimeMillis() + 20_000;
    while (!condition.getAsBoolean()) {
      if (System.currentTimeMillis() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }
}
