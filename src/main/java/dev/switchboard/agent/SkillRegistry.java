package dev.switchboard.agent;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.logging.Logger;
import java.util.regex.Pattern;

/**
 * The skills an agent can be offered: the built-ins, then the plug-ins found through
 * {@link ServiceLoader}. A name must be a valid OpenAI tool name and unique; a plug-in that breaks
 * either rule is refused with a log line, so it can never shadow a built-in such as {@code recall}
 * (which is trusted to stay inside the run's memory scopes).
 */
public final class SkillRegistry {

  private static final Logger LOG = Logger.getLogger(SkillRegistry.class.getName());
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");

  /** Where a skill comes from, as {@code GET /api/v1/skills} says it. */
  public enum Source {
    BUILT_IN("built-in"), PLUG_IN("plug-in");

    private final String label;

    Source(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /** A registered skill and its source. */
  public record Entry(Skill skill, Source source) {
  }

  private static volatile SkillRegistry standard;

  private final Map<String, Entry> skills = new LinkedHashMap<>();

  /** The built-ins and these plug-ins, refusing bad or taken names. */
  public SkillRegistry(Collection<? extends Skill> plugins) {
    for (Skill skill : builtIns()) {
      add(skill, Source.BUILT_IN);
    }
    for (Skill skill : plugins) {
      add(skill, Source.PLUG_IN);
    }
  }

  /** The built-ins and the class path's plug-ins, loaded once per class loader (the log lines say so once). */
  public static SkillRegistry standard() {
    SkillRegistry registry = standard;
    if (registry == null) {
      synchronized (SkillRegistry.class) {
        registry = standard;
        if (registry == null) {
          registry = new SkillRegistry(discovered());
          standard = registry;
        }
      }
    }
    return registry;
  }

  /** The skills named in the class path's {@code META-INF/services/dev.switchboard.agent.Skill}; broken ones are skipped. */
  static List<Skill> discovered() {
    List<Skill> found = new ArrayList<>();
    var iterator = ServiceLoader.load(Skill.class).iterator();
    while (true) {
      try {
        if (!iterator.hasNext()) {
          break;
        }
        found.add(iterator.next());
      } catch (ServiceConfigurationError e) {
        LOG.warning("skill plug-in not loaded: " + e.getMessage());
      }
    }
    return found;
  }

  /**
   * The built-ins. Only remember/recall are offered by default; the others reach a model only
   * when the run names them in its allowed skills.
   */
  static List<Skill> builtIns() {
    return List.of(new RememberSkill(), new RecallSkill(), new CurrentTimeSkill(), new HttpFetchSkill(),
        new QueryTasksSkill(), new PushMessageSkill(), new ScheduleTaskSkill());
  }

  private void add(Skill skill, Source source) {
    String name;
    try {
      name = skill.name();
    } catch (RuntimeException e) {
      LOG.warning("skill " + skill.getClass().getName() + " refused: its name() threw " + e);
      return;
    }
    if (name == null || !NAME.matcher(name).matches()) {
      LOG.warning("skill " + skill.getClass().getName() + " refused: name '" + name
          + "' is not 1 to 64 letters, digits, _ or -");
      return;
    }
    Entry taken = skills.get(name);
    if (taken != null) {
      LOG.warning("skill " + skill.getClass().getName() + " refused: the name '" + name + "' is taken by the "
          + taken.source().label() + " " + taken.skill().getClass().getName());
      return;
    }
    skills.put(name, new Entry(skill, source));
  }

  /** The skill of that name, or null. */
  public Skill get(String name) {
    Entry entry = skills.get(name);
    return entry == null ? null : entry.skill();
  }

  /** Every skill, built-ins first, in registration order. */
  public List<Entry> entries() {
    return List.copyOf(skills.values());
  }

  /** The OpenAI {@code tools} array for the allowed names that exist, in the order given; unknown names are left out. */
  public JsonArray tools(List<String> allowed) {
    JsonArray tools = new JsonArray();
    for (String name : allowed) {
      Entry entry = skills.get(name);
      if (entry == null) {
        continue;
      }
      Skill skill = entry.skill();
      tools.add(new JsonObject().put("type", "function").put("function", new JsonObject()
          .put("name", name).put("description", skill.description()).put("parameters", skill.parameters())));
    }
    return tools;
  }

  /** The {@code GET /api/v1/skills} answer. */
  public JsonObject describe() {
    JsonArray data = new JsonArray();
    for (Entry entry : skills.values()) {
      Skill skill = entry.skill();
      data.add(new JsonObject().put("name", skill.name()).put("description", skill.description())
          .put("source", entry.source().label()).put("blocking", skill.blocking()).put("parameters", skill.parameters()));
    }
    return new JsonObject().put("data", data);
  }
}
