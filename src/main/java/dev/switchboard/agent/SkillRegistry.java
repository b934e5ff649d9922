package dev.switchboard.agent;

import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.shareddata.Shareable;
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
 * The skills an agent can be offered, one registry per gateway: the built-ins, then the class
 * path's plug-ins found through {@link ServiceLoader}, then what comes and goes while it runs (the
 * skills of plug-in jars, the tools of MCP servers). A name must be a valid OpenAI tool name and
 * unique; a skill that breaks either rule is refused with a log line, so nothing can shadow a
 * built-in such as {@code recall} (which is trusted to stay inside the run's memory scopes).
 *
 * <p>Agent runs read it from any thread while sources change it: readers see an immutable
 * snapshot, writers replace it under the lock.
 */
public final class SkillRegistry implements Shareable {

  private static final Logger LOG = Logger.getLogger(SkillRegistry.class.getName());
  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]{1,64}");
  private static final String MAP = "agent.skills";
  private static final String KEY = "registry";

  /** Where a skill comes from, as {@code GET /api/v1/skills} says it. */
  public enum Source {
    BUILT_IN("built-in"), PLUG_IN("plug-in"), MCP("mcp");

    private final String label;

    Source(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /** Whether a listed skill may be offered: only {@code READY} ones are. */
  public enum State {
    READY("ready"), DISABLED("disabled"), UNAVAILABLE("unavailable");

    private final String label;

    State(String label) {
      this.label = label;
    }

    public String label() {
      return label;
    }
  }

  /**
   * A registered skill. {@code origin} names what brought it (a plug-in id, an MCP server's name;
   * {@code classpath} or {@code built-in} otherwise), so a whole source can be switched at once.
   */
  public record Entry(Skill skill, Source source, String origin, State state) {

    Entry with(State next) {
      return new Entry(skill, source, origin, next);
    }
  }

  private static final Object CLASS_PATH_LOCK = new Object();
  private static volatile List<Skill> classPath;

  private volatile Map<String, Entry> skills = Map.of();

  /** The built-ins and these class path plug-ins, refusing bad or taken names. */
  public SkillRegistry(Collection<? extends Skill> plugins) {
    for (Skill skill : builtIns()) {
      add(skill, Source.BUILT_IN, "built-in");
    }
    for (Skill skill : plugins) {
      add(skill, Source.PLUG_IN, "classpath");
    }
  }

  /**
   * This gateway's registry: every gateway (one per Vert.x) has its own, so the MCP servers and
   * plug-ins of one never reach another's agent in the same JVM.
   */
  public static SkillRegistry of(Vertx vertx) {
    return (SkillRegistry) vertx.sharedData().getLocalMap(MAP).computeIfAbsent(KEY, k -> new SkillRegistry(classPath()));
  }

  /** The class path's plug-in skills that a registry accepts, looked up once per class loader. */
  private static List<Skill> classPath() {
    List<Skill> found = classPath;
    if (found == null) {
      synchronized (CLASS_PATH_LOCK) {
        found = classPath;
        if (found == null) {
          // checked once against the built-ins and each other, so a refusal is logged once, not per gateway
          found = new SkillRegistry(discovered(ServiceLoader.load(Skill.class), "the class path")).entries().stream()
              .filter(e -> e.source() == Source.PLUG_IN).map(Entry::skill).toList();
          classPath = found;
        }
      }
    }
    return found;
  }

  /** The class path's {@code META-INF/services/dev.switchboard.agent.Skill}; broken entries are skipped. */
  static List<Skill> discovered() {
    return discovered(ServiceLoader.load(Skill.class), "the class path");
  }

  /** What a service loader finds; a provider that cannot be made is skipped with a line naming {@code where}. */
  public static List<Skill> discovered(ServiceLoader<Skill> loader, String where) {
    List<Skill> found = new ArrayList<>();
    var iterator = loader.iterator();
    while (true) {
      try {
        if (!iterator.hasNext()) {
          break;
        }
        found.add(iterator.next());
      } catch (ServiceConfigurationError | LinkageError e) {
        LOG.warning("skill from " + where + " not loaded: " + e.getMessage());
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

  /** Adds a ready skill; false (and a log line) when its name is not a tool name or is taken. */
  public boolean add(Skill skill, Source source, String origin) {
    synchronized (this) {
      Map<String, Entry> next = new LinkedHashMap<>(skills);
      boolean added = put(next, skill, source, origin);
      skills = ordered(next);
      return added;
    }
  }

  /**
   * Makes {@code replacement} the skills of {@code origin}: the ones it had are dropped, the new
   * ones added in the given state (an MCP server's tool list after a reconnect, say). The names
   * that were accepted are returned.
   */
  public List<String> replace(String origin, Source source, Collection<? extends Skill> replacement, State state) {
    synchronized (this) {
      Map<String, Entry> next = new LinkedHashMap<>(skills);
      next.values().removeIf(e -> e.origin().equals(origin) && e.source() == source);
      List<String> accepted = new ArrayList<>();
      for (Skill skill : replacement) {
        if (put(next, skill, source, origin)) {
          String name = skill.name();
          next.put(name, next.get(name).with(state));
          accepted.add(name);
        }
      }
      skills = ordered(next);
      return accepted;
    }
  }

  /** Drops every skill of {@code origin}; how many there were. */
  public int remove(String origin, Source source) {
    synchronized (this) {
      Map<String, Entry> next = new LinkedHashMap<>(skills);
      int before = next.size();
      next.values().removeIf(e -> e.origin().equals(origin) && e.source() == source);
      skills = ordered(next);
      return before - next.size();
    }
  }

  /** Puts every skill of {@code origin} in {@code state}; how many it has. */
  public int state(String origin, Source source, State state) {
    synchronized (this) {
      Map<String, Entry> next = new LinkedHashMap<>(skills);
      int changed = 0;
      for (Map.Entry<String, Entry> e : next.entrySet()) {
        Entry entry = e.getValue();
        if (entry.origin().equals(origin) && entry.source() == source) {
          e.setValue(entry.with(state));
          changed++;
        }
      }
      skills = ordered(next);
      return changed;
    }
  }

  private static Map<String, Entry> ordered(Map<String, Entry> next) {
    return java.util.Collections.unmodifiableMap(new LinkedHashMap<>(next));
  }

  private static boolean put(Map<String, Entry> into, Skill skill, Source source, String origin) {
    String name;
    try {
      name = skill.name();
    } catch (RuntimeException e) {
      LOG.warning("skill " + skill.getClass().getName() + " refused: its name() threw " + e);
      return false;
    }
    if (name == null || !NAME.matcher(name).matches()) {
      LOG.warning("skill " + skill.getClass().getName() + " from " + origin + " refused: name '" + name
          + "' is not 1 to 64 letters, digits, _ or -");
      return false;
    }
    Entry taken = into.get(name);
    if (taken != null) {
      LOG.warning("skill '" + name + "' from " + origin + " refused: the name is taken by the "
          + taken.source().label() + " " + taken.origin() + " (" + taken.skill().getClass().getName() + ")");
      return false;
    }
    into.put(name, new Entry(skill, source, origin, State.READY));
    return true;
  }

  /** The ready skill of that name, or null (unknown, disabled, or its server is away). */
  public Skill get(String name) {
    Entry entry = skills.get(name);
    return entry == null || entry.state() != State.READY ? null : entry.skill();
  }

  /** The entry of that name, in whatever state, or null. */
  public Entry entry(String name) {
    return skills.get(name);
  }

  /** Every skill, built-ins first, in registration order. */
  public List<Entry> entries() {
    return List.copyOf(skills.values());
  }

  /** The OpenAI {@code tools} array for the allowed names that are ready, in the order given; others are left out. */
  public JsonArray tools(List<String> allowed) {
    Map<String, Entry> now = skills;
    JsonArray tools = new JsonArray();
    for (String name : allowed) {
      Entry entry = now.get(name);
      if (entry == null || entry.state() != State.READY) {
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
          .put("source", entry.source().label()).put("origin", entry.origin()).put("state", entry.state().label())
          .put("blocking", skill.blocking()).put("parameters", skill.parameters()));
    }
    return new JsonObject().put("data", data);
  }
}
