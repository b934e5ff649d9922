package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/** Answers {@link Addresses#AGENT_SKILLS} with this gateway's skills, for {@code GET /api/v1/skills}. */
public final class SkillsVerticle extends VerticleBase {

  @Override
  public Future<?> start() {
    SkillRegistry registry = SkillRegistry.of(vertx);
    return vertx.eventBus().localConsumer(Addresses.AGENT_SKILLS, m -> m.reply(registry.describe())).completion();
  }
}
