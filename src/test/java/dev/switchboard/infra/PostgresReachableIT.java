package dev.switchboard.infra;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.Vertx;
import io.vertx.junit5.Timeout;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.vertx.pgclient.PgBuilder;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.PoolOptions;
import io.vertx.sqlclient.Tuple;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Proves the PostgreSQL the tests are pointed at (env {@code DATABASE_URL}, started by
 * {@code scripts/test.sh}) is reachable and has pgvector. Fails, never skips, when
 * PostgreSQL is missing.
 */
@ExtendWith(VertxExtension.class)
@DisplayName("PostgreSQL with pgvector is reachable from the test JVM")
class PostgresReachableIT {

  static String databaseUrl() {
    String url = System.getenv("DATABASE_URL");
    return url == null || url.isBlank() ? "postgresql://switchboard@127.0.0.1:5432/switchboard" : url;
  }

  @Test
  @Timeout(value = 20, timeUnit = TimeUnit.SECONDS)
  @DisplayName("the vector extension is installed and computes an L2 distance")
  void vectorExtensionComputesDistance(Vertx vertx, VertxTestContext testContext) {
    Pool pool = PgBuilder.pool()
        .with(new PoolOptions().setMaxSize(1))
        .connectingTo(PgConnectOptions.fromUri(databaseUrl()))
        .using(vertx)
        .build();

    pool.query("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
        .execute()
        .compose(rows -> {
          testContext.verify(() -> assertEquals(1, rows.size(), "extension 'vector' is not installed"));
          return pool.preparedQuery("SELECT '[1,2,3]'::vector <-> $1::vector AS distance")
              .execute(Tuple.of("[1,2,4]"));
        })
        .onSuccess(rows -> testContext.verify(() -> {
          assertEquals(1, rows.size(), "no distance row returned");
          assertEquals(1.0, rows.iterator().next().getDouble("distance"), 1e-9);
        }))
        .eventually(pool::close)
        .onComplete(testContext.succeedingThenComplete());
  }
}
