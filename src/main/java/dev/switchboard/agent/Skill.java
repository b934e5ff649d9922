package dev.switchboard.agent;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/**
 * Something the agent's model may call as an OpenAI tool. Built-ins live in this package; a
 * plug-in names its classes in {@code META-INF/services/dev.switchboard.agent.Skill} and needs a
 * public no-argument constructor. A skill's answer is text for the model: a failed future (or a
 * throw) reaches the model as an error result, never fails the run.
 */
public interface Skill {

  /** The tool name: letters, digits, {@code _} and {@code -}, at most 64 (what OpenAI accepts). */
  String name();

  /** What the model reads to decide when to call it. */
  String description();

  /** The JSON schema of the arguments, an {@code object} schema. */
  JsonObject parameters();

  /** True when {@link #run} blocks (JDBC, files, processes): it then runs on a worker thread, not the event loop. */
  default boolean blocking() {
    return false;
  }

  /** The answer to one call. */
  Future<String> run(SkillCall call);
}
