package dev.switchboard.cluster;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.List;

/** The live instances: each one reports itself every few seconds, and one that stops reporting is left out. */
interface Registry {

  /** An instance not heard from for this long is dead. */
  long DEAD_AFTER_MS = 15_000;

  /** This instance's entry {id, version, started_at, running}, refreshed. */
  Future<Void> beat(JsonObject entry);

  /** The live entries, each with {@code leader} set from the lease as it is now. */
  Future<List<JsonObject>> live();

  /** This instance stops: its entry goes at once. */
  Future<Void> leave(String id);
}
