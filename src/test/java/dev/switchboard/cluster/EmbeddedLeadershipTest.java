package dev.switchboard.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonArray;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("Leadership, embedded profile: the only instance")
class EmbeddedLeadershipTest extends LeadershipBehaviour {

  @Override
  Contender contender() throws Exception {
    return started(Contender.start(new ClusterVerticle("embedded", "redis://127.0.0.1:1")));
  }

  @Test
  @DisplayName("it always leads, with token 1, and needs no Redis (the URL given points nowhere)")
  void alwaysLeadsWithTokenOne() throws Exception {
    Contender a = contender();
    assertEquals(new Lease(true, 1, a.id()), a.lease());
  }

  @Test
  @DisplayName("cluster.instances is this instance alone")
  void listsItselfAlone() throws Exception {
    Contender a = contender();
    JsonArray all = a.instances();
    assertEquals(1, all.size(), all.encode());
    assertEquals(a.id(), all.getJsonObject(0).getString("id"));
  }
}
