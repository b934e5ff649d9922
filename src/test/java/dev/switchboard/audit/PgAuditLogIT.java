package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Future;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * {@link PgAuditLog} against the PostgreSQL in env {@code DATABASE_URL} (started by
 * {@code scripts/test.sh}); fails, never skips, when it is not set. Each test has a schema of its own.
 */
@DisplayName("Audit log in PostgreSQL (distributed profile)")
class PgAuditLogIT extends AuditLogBehaviour {

  String schema;
  String url;
  Pool admin;
  final List<AuditLog> others = new ArrayList<>();

  @Override
  protected void prepare() throws Exception {
    String databaseUrl = System.getenv("DATABASE_URL");
    assertTrue(databaseUrl != null && !databaseUrl.isBlank(),
        "DATABASE_URL is not set: these tests need PostgreSQL (scripts/test.sh starts one)");
    admin = PgBuilder.pool().with(new PoolOptions().setMaxSize(1))
        .connectingTo(PgConnectOptions.fromUri(databaseUrl)).using(vertx).build();
    schema = "audit_it_" + UUID.randomUUID().toString().substring(0, 8);
    await(admin.query("CREATE SCHEMA " + schema).execute());
    url = databaseUrl + (databaseUrl.contains("?") ? "&" : "?") + "search_path=" + schema;
  }

  @Override
  protected AuditLog open() {
    return new PgAuditLog(vertx, url);
  }

  @Override
  protected void cleanUp() throws Exception {
    for (AuditLog other : others) {
      await(other.close());
    }
    if (admin != null) {
      await(admin.query("DROP SCHEMA " + schema + " CASCADE").execute());
      await(admin.close());
    }
  }

  /** One digit of the record's target, changed by SQL behind the store's back. */
  @Override
  protected void changeOneByte(long seq) throws Exception {
    await(admin.preparedQuery("UPDATE " + schema + ".audit_log SET record = replace(record, $2, $3) WHERE seq = $1")
        .execute(Tuple.of(seq, "target-" + seq, "target-9")));
  }

  @Test
  @DisplayName("a subject changed in its column (what listings filter by) breaks the chain there, and verify names that record")
  void changedColumnIsNamed() throws Exception {
    await(log.append(List.of(event("alice", "a", "1"), event("alice", "a", "2"), event("alice", "a", "3"))));
    await(admin.preparedQuery("UPDATE " + schema + ".audit_log SET subject = 'mallory' WHERE seq = 2").execute());

    AuditLog.Verification v = await(log.verify());
    assertEquals(2, v.brokenSeq(), v.describe());
    assertEquals(1, v.records(), "the record before it holds");
  }

  @Test
  @DisplayName("instances appending at once keep one chain: none forks it")
  void concurrentAppendersKeepOneChain() throws Exception {
    List<Future<List<AuditRecord>>> appends = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      AuditLog other = open();
      others.add(other);
      for (int j = 0; j < 5; j++) {
        appends.add(other.append(List.of(event("instance-" + i, "a", i + "." + j), event("instance-" + i, "b", i + "." + j))));
      }
    }
    await(Future.all(appends));

    AuditLog.Verification v = await(log.verify());
    assertTrue(v.intact(), v.describe());
    assertEquals(40, v.records());
  }

  @Test
  @DisplayName("its migration is applied once, beside the memory store's")
  void migrationAppliedOnce() throws Exception {
    await(log.append(List.of(event("alice", "a", "1"))));
    AuditLog again = open();
    others.add(again);
    await(again.append(List.of(event("alice", "a", "2"))));

    assertEquals(1L, await(admin.query("SELECT count(*) FROM " + schema + ".switchboard_migrations WHERE version = 1001")
        .execute()).iterator().next().getLong(0));
  }
}
