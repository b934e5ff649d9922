package dev.switchboard.bus;

import java.util.List;

/** A validated task request from the HTTP edge. */
public record TaskSubmission(String input, String model, List<Target> channels, Priority priority,
                             String idempotencyKey, String subject) {

  public record Target(String type, String bot) {
  }

  /** Lower rank runs first. */
  public enum Priority {
    HIGH, NORMAL, LOW;

    public String label() {
      return name().toLowerCase();
    }
  }
}
