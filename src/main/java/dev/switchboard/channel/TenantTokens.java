package dev.switchboard.channel;

import io.vertx.core.Future;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;
import java.util.Map;

/**
 * Access tokens of app bots: Feishu tenant tokens, DingTalk and WeCom app tokens, one per app, cached
 * until three minutes before they expire (as the official SDKs do); concurrent pushes share one
 * fetch. Confined to the push verticle's loop (or to the one context {@code doctor} asks it on, which asks
 * each app once to prove its credentials).
 */
public final class TenantTokens {

  private record Cached(String token, long expiresAt) {
  }

  private final HttpClient client;
  private final Map<String, Cached> cache = new HashMap<>();
  private final Map<String, Future<String>> fetching = new HashMap<>();
  /** Bumped by a forget: a fetch started before it (old credentials, a refused token) is neither shared nor kept. */
  private final Map<String, Object> epochs = new HashMap<>();

  public TenantTokens(HttpClient client) {
    this.client = client;
  }

  public Future<String> token(FeishuApp app) {
    Cached c = cache.get(app.name());
    if (c != null && c.expiresAt() > System.currentTimeMillis()) {
      return Future.succeededFuture(c.token());
    }
    return shared(app.name(), () -> fetch(app.name(), app.baseUrl() + "/open-apis/auth/v3/tenant_access_token/internal",
        new JsonObject().put("app_id", app.appId()).put("app_secret", app.appSecret()), "tenant_access_token", "expire"));
  }

  void forget(FeishuApp app) {
    forget(app.name());
  }

  /** A DingTalk app's access token ({@code POST /v1.0/oauth2/accessToken}). */
  public Future<String> token(DingTalkApp app) {
    String key = "dingtalk/" + app.name();
    Cached c = cache.get(key);
    if (c != null && c.expiresAt() > System.currentTimeMillis()) {
      return Future.succeededFuture(c.token());
    }
    return shared(key, () -> fetch(key, app.apiBase() + "/v1.0/oauth2/accessToken",
        new JsonObject().put("appKey", app.appKey()).put("appSecret", app.appSecret()), "accessToken", "expireIn"));
  }

  void forget(DingTalkApp app) {
    forget("dingtalk/" + app.name());
  }

  /** A WeCom app's access token ({@code GET /cgi-bin/gettoken?corpid=…&corpsecret=…}). */
  public Future<String> token(WeComApp app) {
    String key = "wecom/" + app.name();
    Cached c = cache.get(key);
    if (c != null && c.expiresAt() > System.currentTimeMillis()) {
      return Future.succeededFuture(c.token());
    }
    String url = app.apiBase() + "/cgi-bin/gettoken?corpid=" + java.net.URLEncoder.encode(app.corpId(), java.nio.charset.StandardCharsets.UTF_8)
        + "&corpsecret=" + java.net.URLEncoder.encode(app.secret(), java.nio.charset.StandardCharsets.UTF_8);
    return shared(key, () -> fetch(key, url, null, "access_token", "expires_in"));
  }

  void forget(WeComApp app) {
    forget("wecom/" + app.name());
  }

  private void forget(String key) {
    cache.remove(key);
    fetching.remove(key);
    epochs.put(key, new Object());
  }

  /** One fetch at a time per key; a finished one, failed or not, makes room for the next. */
  private Future<String> shared(String key, java.util.function.Supplier<Future<String>> start) {
    Future<String> running = fetching.get(key);
    if (running != null) {
      // on this push's own context: the fetch completes on the one that started it (observe.RequestIds)
      return dev.switchboard.observe.RequestIds.onCaller(running);
    }
    Future<String> f = start.get().timeout(20, java.util.concurrent.TimeUnit.SECONDS);
    if (!f.isComplete()) {
      fetching.put(key, f);
      f.onComplete(ar -> fetching.remove(key, f));
    }
    return f;
  }

  /** {@code body} null: a GET (WeCom), else a POST of it. */
  private Future<String> fetch(String key, String url, JsonObject body, String tokenField, String expiryField) {
    Object epoch = epochs.get(key);
    RequestOptions options = new RequestOptions()
        .setMethod(body == null ? HttpMethod.GET : HttpMethod.POST)
        .setAbsoluteURI(url)
        .setFollowRedirects(false) // see ChannelPushVerticle#send
        .setConnectTimeout(10_000)
        .setIdleTimeout(10_000)
        .putHeader("Content-Type", "application/json")
        .putHeader("Accept", "application/json");
    return client.request(options)
        .compose(r -> body == null ? r.send() : r.send(body.toBuffer()))
        .compose(r -> Bodies.read(r, Bodies.MAX_TOKEN_BYTES, "the access-token answer for '" + key + "'"))
        .compose(b -> {
          JsonObject answer;
          try {
            answer = b.toJsonObject();
          } catch (RuntimeException e) {
            return Future.failedFuture("the access-token answer for '" + key + "' is not JSON: " + Texts.clip(b.toString(), 200));
          }
          String token = answer.getString(tokenField);
          if (token == null) {
            return Future.failedFuture("no access token for '" + key + "': " + Texts.clip(b.toString(), 200));
          }
          long expire = answer.getLong(expiryField, 7200L);
          if (epochs.get(key) == epoch) {
            cache.put(key, new Cached(token, System.currentTimeMillis() + Math.max(0, expire - 180) * 1000));
          }
          return Future.succeededFuture(token);
        });
  }

}
