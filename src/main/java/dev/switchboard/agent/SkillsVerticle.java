package dev.switchboard.agent;

import dev.switchboard.bus.Addresses;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;

/** Answers {@link Addresses#AGENT_SKILLS} with the registry's skills, for {@code GET /api/v1/skills}. */
public final class SkillsVerticle extends VerticleBase {

  private final SkillRegistry registry;

  public SkillsVerticle() {
    this(SkillRegistry.standard());
  }

  public SkillsVerticle(SkillRegistry registry) {
    this.registry = registry;
  }

  @Override
  public Future<?> start() {
    return vertx.eventBus().localConsumer(Addresses.AGENT_SKILLS, m -> m.reply(registry.describe())).completion();
  }
}
