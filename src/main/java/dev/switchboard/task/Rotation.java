package dev.switchboard.task;

import dev.switchboard.bus.TaskSubmission.Priority;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * Which priority the next lease serves: a weighted round robin of 6:3:1 (high:normal:low), one slot
 * per leased task, so low is slowed but never starved. A slot whose priority has no runnable work
 * is skipped, which leaves the others their proportions among themselves (with only high and low
 * waiting, 6:1). Both queues walk the same slots, so their order is the same.
 */
final class Rotation {

  static final int HIGH_WEIGHT = 6;
  static final int NORMAL_WEIGHT = 3;
  static final int LOW_WEIGHT = 1;

  /** One cycle of slots, spread out (smooth weighted round robin) rather than six highs in a row. */
  static final List<Priority> SLOTS = smooth(new int[] {HIGH_WEIGHT, NORMAL_WEIGHT, LOW_WEIGHT});

  private Rotation() {
  }

  // nginx's smooth weighted round robin: each step adds every weight to its credit, serves the
  // largest credit and takes the total off it. Ties go to the higher priority.
  private static List<Priority> smooth(int[] weights) {
    int total = 0;
    for (int w : weights) {
      total += w;
    }
    int[] credit = new int[weights.length];
    List<Priority> slots = new ArrayList<>(total);
    for (int step = 0; step < total; step++) {
      int best = 0;
      for (int i = 0; i < weights.length; i++) {
        credit[i] += weights[i];
        if (credit[i] > credit[best]) {
          best = i;
        }
      }
      credit[best] -= total;
      slots.add(Priority.values()[best]);
    }
    return Collections.unmodifiableList(slots);
  }

  /** The slots as a Lua table constructor, for the Redis scripts: {'high','normal',...}. */
  static String luaTable() {
    StringBuilder lua = new StringBuilder("{");
    for (int i = 0; i < SLOTS.size(); i++) {
      lua.append(i == 0 ? "" : ",").append('\'').append(SLOTS.get(i).label()).append('\'');
    }
    return lua.append('}').toString();
  }
}
