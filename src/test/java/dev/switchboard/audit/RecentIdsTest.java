package dev.switchboard.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The recent ids of an audit store: exactly the last N ids appended")
class RecentIdsTest {

  @Test
  void knowsExactlyTheLastIdsAddedAsASetOfTheLastNWould() {
    int capacity = 500;
    RecentIds recent = new RecentIds(capacity);
    ArrayDeque<String> order = new ArrayDeque<>();
    Set<String> reference = new HashSet<>();
    Random random = new Random(15);
    List<String> seen = new ArrayList<>();
    for (int i = 0; i < 20_000; i++) {
      String id = switch (random.nextInt(4)) {
        case 0 -> AuditEvent.randomId();
        case 1 -> "id-" + random.nextInt(3_000); // not a UUID, and often one seen before
        case 2 -> seen.isEmpty() ? AuditEvent.randomId() : seen.get(random.nextInt(seen.size())); // again
        default -> new UUID(random.nextLong(), random.nextLong()).toString(); // any version, 0 too
      };
      seen.add(id);
      assertEquals(reference.contains(id), recent.contains(id), id);
      if (reference.add(id)) {
        order.addLast(id);
        if (order.size() > capacity) {
          reference.remove(order.removeFirst());
        }
      }
      recent.add(id);
      assertTrue(recent.contains(id), id);
      assertEquals(reference.size(), recent.size());
    }
    for (String id : seen) {
      assertEquals(reference.contains(id), recent.contains(id), id);
    }
  }

  @Test
  void anotherSpellingOfAUuidIsAnotherId() {
    RecentIds recent = new RecentIds(10);
    String id = AuditEvent.randomId();
    recent.add(id);
    assertTrue(recent.contains(id));
    assertFalse(recent.contains(id.toUpperCase(java.util.Locale.ROOT)));
  }

  @Test
  void clearedItKnowsNone() {
    RecentIds recent = new RecentIds(10);
    recent.add("a");
    recent.add(AuditEvent.randomId());
    recent.clear();
    assertFalse(recent.contains("a"));
    assertEquals(0, recent.size());
  }
}
