package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** What every {@link RevokedTokens} store does; each implementation runs it against its real store. */
abstract class RevokedTokensBehaviour {

  Vertx vertx;
  RevokedTokens store;

  /** A fresh, empty store; {@link #reopen} gives another handle on the same data. */
  abstract RevokedTokens open(Vertx vertx) throws Exception;

  abstract RevokedTokens reopen(Vertx vertx) throws Exception;

  @BeforeEach
  void openStore() throws Exception {
    vertx = Vertx.vertx();
    store = open(vertx);
  }

  @AfterEach
  void closeStore() throws Exception {
    try {
      await(store.close());
    } finally {
      vertx.close().await(10, TimeUnit.SECONDS);
    }
  }

  static <T> T await(Future<T> f) throws Exception {
    return f.await(10, TimeUnit.SECONDS);
  }

  static long inAnHour() {
    return System.currentTimeMillis() + 3_600_000;
  }

  @Test
  @DisplayName("a revoked jti is listed with its until")
  void revokedIsListed() throws Exception {
    long until = inAnHour();
    await(store.revoke("a", until));
    assertEquals(Map.of("a", until), await(store.current()));
  }

  @Test
  @DisplayName("a jti revoked for good (a token without exp) is listed as forever")
  void forever() throws Exception {
    await(store.revoke("a", Revocations.FOREVER));
    assertEquals(Map.of("a", Revocations.FOREVER), await(store.current()));
  }

  @Test
  @DisplayName("an entry whose token has expired is not listed")
  void expiredNotListed() throws Exception {
    await(store.revoke("old", System.currentTimeMillis() - 1_000));
    await(store.revoke("new", inAnHour()));
    assertFalse(await(store.current()).containsKey("old"));
  }

  @Test
  @DisplayName("revoking again with an earlier until keeps the later one; a later one extends it")
  void laterUntilStands() throws Exception {
    long until = inAnHour();
    await(store.revoke("a", until));
    await(store.revoke("a", until - 60_000));
    assertEquals(until, await(store.current()).get("a"));
    await(store.revoke("a", Revocations.FOREVER));
    assertEquals(Revocations.FOREVER, await(store.current()).get("a"));
    await(store.revoke("a", until));
    assertEquals(Revocations.FOREVER, await(store.current()).get("a"));
  }

  @Test
  @DisplayName("revocations outlive the store: another handle on the same data lists them")
  void survivesReopen() throws Exception {
    long until = inAnHour();
    await(store.revoke("a", until));
    await(store.revoke("b", Revocations.FOREVER));
    await(store.close());
    store = reopen(vertx);
    assertEquals(Map.of("a", until, "b", Revocations.FOREVER), await(store.current()));
  }
}
