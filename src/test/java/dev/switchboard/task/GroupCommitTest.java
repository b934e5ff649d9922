package dev.switchboard.task;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.store.EmbeddedStore;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import java.nio.file.Path;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Group commit on the real embedded store: what is grouped, and what one failing unit does to its group. */
@ExtendWith(VertxExtension.class)
@DisplayName("Group commit")
class GroupCommitTest {

  @TempDir
  Path dir;
  EmbeddedStore store;
  GroupCommit group;

  @BeforeEach
  void open(Vertx vertx) throws Exception {
    store = EmbeddedStore.open(vertx, dir).await(10, TimeUnit.SECONDS);
    store.run(c -> {
      EmbeddedStore.execute(c, "CREATE TABLE t (v INTEGER PRIMARY KEY)");
      return null;
    }).await(10, TimeUnit.SECONDS);
    group = new GroupCommit(vertx, store, 512);
  }

  @AfterEach
  void close() throws Exception {
    store.close().await(10, TimeUnit.SECONDS);
  }

  private Future<Integer> insert(int v) {
    return group.submit(c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO t (v) VALUES (?)")) {
        ps.setInt(1, v);
        return ps.executeUpdate();
      }
    });
  }

  private List<Integer> rows() throws Exception {
    return store.run(c -> {
      List<Integer> rows = new ArrayList<>();
      try (PreparedStatement ps = c.prepareStatement("SELECT v FROM t ORDER BY v"); ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          rows.add(rs.getInt(1));
        }
      }
      return rows;
    }).await(10, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("work that arrives while a commit is under way shares the next commit, in arrival order")
  void grouped() throws Exception {
    List<Future<Integer>> all = new ArrayList<>();
    for (int i = 1; i <= 200; i++) {
      all.add(insert(i));
    }
    for (Future<Integer> f : all) {
      assertEquals(1, f.await(10, TimeUnit.SECONDS));
    }
    assertTrue(group.commits() < 50, "200 units in " + group.commits() + " commits");
    assertEquals(200, rows().size());
  }

  @Test
  @DisplayName("a unit that fails is undone and fails alone; the rest of its group commits")
  void failureStaysAlone() throws Exception {
    List<Future<Integer>> all = new ArrayList<>();
    for (int i = 1; i <= 10; i++) {
      all.add(insert(i));
    }
    Future<Integer> broken = group.submit(c -> {
      try (PreparedStatement ps = c.prepareStatement("INSERT INTO t (v) VALUES (100)")) {
        ps.executeUpdate();
      }
      throw new SQLException("disk said no, after a row was written");
    });
    Future<Integer> duplicate = insert(5);
    Future<Integer> after = insert(11);
    for (Future<Integer> f : all) {
      assertEquals(1, f.await(10, TimeUnit.SECONDS));
    }
    assertThrows(SQLException.class, () -> broken.await(10, TimeUnit.SECONDS));
    assertThrows(SQLException.class, () -> duplicate.await(10, TimeUnit.SECONDS));
    assertEquals(1, after.await(10, TimeUnit.SECONDS));
    assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11), rows(), "the failed unit's row was undone");
  }
}
