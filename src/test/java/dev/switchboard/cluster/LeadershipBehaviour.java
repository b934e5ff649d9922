package dev.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.bus.Addresses;
import dev.switchboard.bus.LocalCodec;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * What every leadership does, whatever holds the lease: run against the embedded profile (one
 * instance, always the leader) and against Redis ({@link RedisLeadershipIT}, which adds what only
 * several instances can show). Each instance is a {@link ClusterVerticle} in a Vert.x of its own,
 * as a separate process would be.
 */
abstract class LeadershipBehaviour {

  final List<Contender> started = new ArrayList<>();

  /** A new instance, started. */
  abstract Contender contender() throws Exception;

  /** One instance: its own Vert.x with the cluster verticle deployed. */
  static final class Contender implements AutoCloseable {
    final Vertx vertx;
    final ClusterVerticle verticle;
    private boolean closed;

    Contender(Vertx vertx, ClusterVerticle verticle) {
      this.vertx = vertx;
      this.verticle = verticle;
    }

    static Contender start(ClusterVerticle verticle) throws Exception {
      Vertx vertx = Vertx.vertx();
      LocalCodec.registerAll(vertx.eventBus());
      vertx.deployVerticle(verticle).await(20, TimeUnit.SECONDS);
      return new Contender(vertx, verticle);
    }

    Lease lease() {
      return verticle.cluster().leadership().lease();
    }

    String id() {
      return verticle.cluster().instance().id();
    }

    JsonObject ask(String address) throws Exception {
      return vertx.eventBus().<JsonObject>request(address, null).await(10, TimeUnit.SECONDS).body();
    }

    JsonArray instances() throws Exception {
      return ask(Addresses.CLUSTER_INSTANCES).getJsonArray("data");
    }

    /** Stops as a SIGTERM would: the verticle's stop runs. */
    @Override
    public void close() throws Exception {
      if (!closed) {
        closed = true;
        vertx.close().await(20, TimeUnit.SECONDS);
      }
    }
  }

  Contender started(Contender c) {
    started.add(c);
    return c;
  }

  @AfterEach
  void stopAll() throws Exception {
    for (Contender c : started) {
      c.close();
    }
  }

  @Test
  @DisplayName("a lone instance leads from the moment it has started, with a fencing token above zero")
  void loneInstanceLeads() throws Exception {
    Contender a = contender();
    Lease lease = a.lease();
    assertTrue(lease.leader(), lease.toString());
    assertTrue(lease.token() > 0, lease.toString());
    assertEquals(a.id(), lease.holder());
  }

  @Test
  @DisplayName("the lead holds while nothing changes: the same token through several renewals")
  void leadHolds() throws Exception {
    Contender a = contender();
    Lease first = a.lease();
    for (int i = 0; i < 30; i++) {
      Thread.sleep(100);
      assertEquals(first, a.lease(), "after " + (i + 1) * 100 + " ms");
    }
  }

  @Test
  @DisplayName("cluster.self names the instance (host-pid-random), its version and start, and says it leads")
  void self() throws Exception {
    Contender a = contender();
    JsonObject self = a.ask(Addresses.CLUSTER_SELF);
    assertEquals(a.id(), self.getString("id"));
    assertTrue(self.getString("id").matches("[a-z0-9-]+-\\d+-[a-z0-9]{4}"), self.encode());
    assertTrue(self.getString("version").matches("dev|\\d+\\.\\d+.*"), "the jar's version, or dev from classes: " + self.encode());
    assertNotNull(Instant.parse(self.getString("started_at")));
    assertEquals(true, self.getBoolean("leader"));
    assertEquals(List.of("id", "version", "started_at", "leader"), new ArrayList<>(self.fieldNames()));
  }

  @Test
  @DisplayName("two instances of one process have different ids")
  void idsDiffer() throws Exception {
    Contender a = contender();
    Contender b = contender();
    assertFalse(a.id().equals(b.id()), a.id());
  }

  @Test
  @DisplayName("cluster.instances lists the instance with id, version, started_at, running and leader")
  void listed() throws Exception {
    Contender a = contender();
    Until.holds(java.time.Duration.ofSeconds(10), "the instance listed", () -> a.instances().stream()
        .anyMatch(o -> a.id().equals(((JsonObject) o).getString("id"))));
    JsonObject entry = a.instances().stream().map(o -> (JsonObject) o).filter(o -> a.id().equals(o.getString("id")))
        .findFirst().orElseThrow();
    assertEquals(a.ask(Addresses.CLUSTER_SELF).getString("version"), entry.getString("version"));
    assertNotNull(Instant.parse(entry.getString("started_at")));
    assertEquals(0, entry.getInteger("running"), "no task component here: nothing runs");
    assertEquals(true, entry.getBoolean("leader"), entry.encode());
  }
}
