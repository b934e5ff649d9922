package dev.switchboard.agent;

import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;

/** Skills for the agent tests: slow ones (on a timer or blocking a worker), one that throws, one with a huge answer. */
final class TestSkills {

  private TestSkills() {
  }

  static Skill simple(String name, boolean blocking, java.util.function.Function<SkillCall, Future<String>> run) {
    return new Skill() {
      @Override
      public String name() {
        return name;
      }

      @Override
      public String description() {
        return "test skill " + name;
      }

      @Override
      public JsonObject parameters() {
        return new JsonObject().put("type", "object").put("properties", new JsonObject());
      }

      @Override
      public boolean blocking() {
        return blocking;
      }

      @Override
      public Future<String> run(SkillCall call) {
        return run.apply(call);
      }
    };
  }

  /** Answers after {@code millis} on a timer: never blocks. */
  static Skill timer(String name, long millis) {
    return simple(name, false, call -> call.vertx().timer(millis).map(v -> name + " done"));
  }

  /** Sleeps {@code millis}: declared blocking, so it must run on a worker. */
  static Skill sleeper(String name, long millis) {
    return simple(name, true, call -> {
      if (io.vertx.core.Context.isOnEventLoopThread()) {
        throw new IllegalStateException("a blocking skill ran on the event loop");
      }
      try {
        Thread.sleep(millis);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return Future.succeededFuture(name + " done");
    });
  }

  static Skill thrower(String name) {
    return simple(name, false, call -> {
      throw new IllegalStateException("kaput");
    });
  }

  static Skill answering(String name, String answer) {
    return simple(name, false, call -> Future.succeededFuture(answer));
  }
}
