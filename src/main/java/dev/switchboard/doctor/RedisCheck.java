package dev.switchboard.doctor;

import io.vertx.core.Vertx;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The distributed profile's Redis: it answers PING, which version it is, and whether its append-only
 * file is on. The queue, deliveries and events take Redis's acknowledgement as durable, which holds
 * only with {@code appendonly yes}: without it a Redis restart loses tasks that were answered 202.
 */
final class RedisCheck {

  private RedisCheck() {
  }

  static Finding check(Vertx vertx, String url, String where, long timeoutMs) {
    String subject = "redis " + Where.redacted(url).replaceFirst("/$", "");
    Redis redis;
    try {
      RedisOptions options = new RedisOptions().setConnectionString(url).setMaxPoolSize(1).setMaxPoolWaiting(4);
      options.getNetClientOptions().setConnectTimeout((int) timeoutMs);
      redis = Redis.createClient(vertx, options);
    } catch (RuntimeException e) {
      // the URL is read here, before anything is sent: a parse error, not a Redis to start
      return Finding.fail("redis", "not a Redis URL: " + Where.redacted(url), "set " + where + " to redis://[:password@]host:6379[/db]");
    }
    try {
      String pong = send(redis, Request.cmd(Command.PING), timeoutMs);
      String server = send(redis, Request.cmd(Command.INFO).arg("server"), timeoutMs);
      String persistence = send(redis, Request.cmd(Command.INFO).arg("persistence"), timeoutMs);
      String version = field(server, "redis_version");
      String text = pong + ", Redis " + (version == null ? "(version unknown)" : version);
      if (!"1".equals(field(persistence, "aof_enabled"))) {
        return Finding.fail(subject, text + ", appendonly no: a Redis restart loses queued tasks and deliveries",
            "run Redis with appendonly yes (redis.conf, --appendonly yes, or CONFIG SET appendonly yes then CONFIG REWRITE)");
      }
      return Finding.ok(subject, text + ", appendonly yes");
    } catch (Exception e) {
      String why = Doctor.message(e);
      String fix = why.contains("NOAUTH") || why.contains("WRONGPASS")
          ? "put the password in " + where + " (redis://:password@host:port)"
          : "start Redis there, or point " + where + " at the one to use";
      return Finding.fail(subject, "cannot talk to it: " + why, fix);
    } finally {
      redis.close();
    }
  }

  private static String send(Redis redis, Request request, long timeoutMs) throws Exception {
    return String.valueOf(redis.send(request).await(timeoutMs, TimeUnit.MILLISECONDS));
  }

  /** A {@code name:value} line of INFO's answer. */
  private static String field(String info, String name) {
    for (String line : List.of(info.split("\r?\n"))) {
      if (line.startsWith(name + ":")) {
        return line.substring(name.length() + 1).trim();
      }
    }
    return null;
  }
}
