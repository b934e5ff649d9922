package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;

/**
 * Feishu tenant access tokens, one per app, cached until three minutes before they expire (as the
 * official SDK does); concurrent pushes share one fetch. Confined to the push verticle's loop.
 */
final class TenantTokens {

  private record Cached(String token, long expiresAt) {
  }

  private final HttpClient client;
  private final Map<String, Cached> cache = new HashMap<>();
  private final Map<String, Future<String>> fetching = new HashMap<>();

  TenantTokens(HttpClient client) {
    this.client = client;
  }

  Future<String> token(FeishuApp app) {
    Cached c = cache.get(app.name());
    if (c != null && c.expiresAt() > System.currentTimeMillis()) {
      return Future.succeededFuture(c.token());
    }
    return fetching.computeIfAbsent(app.name(), k -> fetch(app).andThen(ar -> fetching.remove(app.name())));
  }

  void forget(FeishuApp app) {
    cache.remove(app.name());
  }

  private Future<String> fetch(FeishuApp app) {
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(app.baseUrl() + "/open-apis/auth/v3/tenant_access_token/internal")
        .setConnectTimeout(10_000)
        .setIdleTimeout(10_000)
        .putHeader("Content-Type", "application/json; charset=utf-8");
    JsonObject body = new JsonObject().put("app_id", app.appId()).put("app_secret", app.appSecret());
    return client.request(options)
        .compose(r -> r.send(body.toBuffer()))
        .compose(r -> r.body())
        .compose(b -> {
          JsonObject answer = b.toJsonObject();
          String token = answer.getString("tenant_access_token");
          if (answer.getInteger("code", -1) != 0 || token == null) {
            return Future.failedFuture("feishu refused a tenant token for app '" + app.name() + "': " + answer.getValue("msg"));
          }
          long expire = answer.getLong("expire", 7200L);
          cache.put(app.name(), new Cached(token, System.currentTimeMillis() + Math.max(0, expire - 180) * 1000));
          return Future.succeededFuture(token);
        });
  }
}
