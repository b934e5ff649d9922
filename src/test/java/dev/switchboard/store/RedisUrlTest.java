package dev.switchboard.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("REDIS_URL is checked at start-up, and a refusal never shows its password")
class RedisUrlTest {

  @Test
  void theFormsTheRedisClientTakesAreAccepted() {
    for (String url : List.of("redis://127.0.0.1:6379", "redis://localhost", "redis://:pass@host:6379/2",
        "redis://user:p@ss/w?rd@host:6380/0", "rediss://cache.internal:6380", "redis://[::1]:6379", "redis://[::1]",
        "unix:///var/run/redis.sock", " redis://127.0.0.1:6379 ")) {
      assertEquals(url.trim(), RedisUrl.check(url), url);
    }
  }

  @Test
  void aBadPortIsRefusedWithoutTheUserInfo() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> RedisUrl.check("redis://u:s3cr3t@127.0.0.1:notaport/0"));
    assertTrue(e.getMessage().startsWith("storage.redis (REDIS_URL) is not a Redis URL: redis://127.0.0.1:notaport/0 (the port"),
        e.getMessage());
    assertFalse(e.getMessage().contains("s3cr3t"), e.getMessage());
  }

  @Test
  void aPasswordThatLooksLikeASchemeIsNotPrinted() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RedisUrl.check("redis:/user:pa://ss@host:6379"));
    assertTrue(e.getMessage().startsWith("storage.redis (REDIS_URL) is not a Redis URL: host:6379 (no scheme;"), e.getMessage());
  }

  @Test
  void otherMistakesAreRefusedSayingWhat() {
    for (String[] c : new String[][] {{"", "no scheme"}, {"127.0.0.1:6379", "no scheme"}, {"http://host:6379", "the scheme is 'http'"},
        {"redis://:6379", "no host"}, {"redis://host:70000", "the port"}, {"redis://host:", "the port"},
        {"redis://host:6379/abc", "the database"}, {"redis://[::1:6379", "IPv6"}, {"unix://", "no socket path"}}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RedisUrl.check(c[0]), c[0]);
      assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
    }
  }
}
