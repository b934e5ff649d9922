package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * The start-up check of the {@code skills: [...]} that bots name in channels.yaml: a name no skill
 * has is a warning naming the bot and the skill, not an error, since an MCP server's tools become
 * skills only once it is connected. The agent skips such a name when it runs (and says so).
 */
public final class BotSkills {

  private static final Logger LOG = Logger.getLogger(BotSkills.class.getName());

  private BotSkills() {
  }

  /** Asks the skills component what it knows; answers the warnings logged (none when all are known). */
  public static Future<List<String>> warnUnknown(Vertx vertx, Map<String, List<String>> byBot) {
    if (byBot.isEmpty()) {
      return Future.succeededFuture(List.of());
    }
    return vertx.eventBus().<JsonObject>request(Addresses.AGENT_SKILLS, null).map(m -> {
      Set<String> known = new TreeSet<>();
      m.body().getJsonArray("data", new JsonArray()).forEach(o -> known.add(((JsonObject) o).getString("name")));
      List<String> warnings = new ArrayList<>();
      byBot.forEach((bot, skills) -> skills.stream().filter(s -> !known.contains(s)).forEach(s -> warnings.add(
          "channels.yaml: bot " + bot + " names skill '" + s + "', which no skill has (yet: an MCP server's tools appear"
              + " once it is connected); until one does, its replies go without it. The skills are: " + String.join(", ", known))));
      warnings.forEach(LOG::warning);
      return warnings;
    }).recover(e -> {
      LOG.warning("the skills bots name in channels.yaml could not be checked: " + e.getMessage());
      return Future.succeededFuture(List.of());
    });
  }
}
