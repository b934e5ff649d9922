package dev.switchboard.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Turns the model a client names into the groups to walk (the group itself, then its fallbacks),
 * and orders a group's deployments by its strategy. A name that is not a group becomes an implicit
 * group of every provider that serves it. Confined to the dispatcher's event loop.
 */
final class Router {

  /** One group to try, with its deployments resolved. */
  record Step(String group, GroupSettings.Strategy strategy, List<Member> members, List<String> requireTags,
              String contextWindowFallback) {
  }

  record Member(Deployment deployment, int priority, int weight) {
  }

  private static final int MAX_DEPLOYMENTS = 4096;

  private final Map<String, Provider> providers;
  private final Map<String, GroupSettings> groups = new LinkedHashMap<>();
  private final ModelSettings.Breaker breaker;
  /** Deployments named in the configuration: kept for good. */
  private final Map<String, Deployment> configured = new LinkedHashMap<>();
  /** Pass-through deployments for names clients chose: the least recently used are forgotten. */
  private final Map<String, Deployment> passThrough = new LinkedHashMap<>(64, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, Deployment> eldest) {
      return size() > MAX_DEPLOYMENTS;
    }
  };

  Router(Map<String, Provider> providers, List<GroupSettings> groups, ModelSettings.Breaker breaker) {
    this.providers = providers;
    this.breaker = breaker;
    groups.forEach(g -> this.groups.put(g.name(), g));
    for (GroupSettings g : groups) {
      for (GroupSettings.DeploymentSettings d : g.deployments()) {
        Provider p = providers.get(d.provider());
        if (p != null) {
          deployment(p, d.model(), true);
        }
      }
    }
  }

  boolean isGroup(String name) {
    return groups.containsKey(name);
  }

  Deployment deployment(Provider provider, String model, boolean inGroup) {
    String key = provider.name() + "/" + model;
    Deployment d = configured.get(key);
    if (d != null) {
      return d;
    }
    if (inGroup || provider.settings.models().contains(model)) {
      return configured.computeIfAbsent(key, k -> new Deployment(provider, model, true, breaker));
    }
    return passThrough.computeIfAbsent(key, k -> new Deployment(provider, model, false, breaker));
  }

  /** Configured deployments only: what gauges and health resets are about. */
  List<Deployment> configured() {
    return new ArrayList<>(configured.values());
  }

  List<Deployment> known() {
    List<Deployment> all = new ArrayList<>(configured.values());
    all.addAll(passThrough.values());
    return all;
  }

  /** The steps for {@code model}: its group and the fallbacks after it, each group once. */
  List<Step> chain(String model) {
    List<Step> steps = new ArrayList<>();
    if (!groups.containsKey(model)) {
      List<Member> members = new ArrayList<>();
      for (Provider p : providers.values()) {
        if (p.settings.serves(model)) {
          members.add(new Member(deployment(p, model, false), 1, 1));
        }
      }
      if (!members.isEmpty()) {
        steps.add(new Step(model, GroupSettings.Strategy.PRIORITY, members, List.of(), ""));
      }
      return steps;
    }
    Set<String> seen = new HashSet<>();
    List<String> queue = new ArrayList<>(List.of(model));
    while (!queue.isEmpty()) {
      String name = queue.remove(0);
      GroupSettings g = groups.get(name);
      if (g == null || !seen.add(name)) {
        continue;
      }
      steps.add(step(g));
      queue.addAll(g.fallbacks());
    }
    return steps;
  }

  Step step(String group) {
    return step(groups.get(group));
  }

  private Step step(GroupSettings g) {
    List<Member> members = new ArrayList<>();
    for (GroupSettings.DeploymentSettings d : g.deployments()) {
      Provider p = providers.get(d.provider());
      if (p != null) {
        members.add(new Member(deployment(p, d.model(), true), d.priority(), d.weight()));
      }
    }
    return new Step(g.name(), g.strategy(), members, g.requireTags(), g.contextWindowFallback());
  }

  /** The deployments of a step in the order its strategy wants them tried. */
  static List<Deployment> order(Step step) {
    List<Member> members = new ArrayList<>(step.members());
    ThreadLocalRandom random = ThreadLocalRandom.current();
    switch (step.strategy()) {
      case LEAST_LATENCY -> {
        members.sort(Comparator.comparingDouble(m -> m.deployment().latencyEwma));
        return members.stream().map(Member::deployment).toList();
      }
      case LEAST_BUSY -> {
        java.util.Collections.shuffle(members, random);
        members.sort(Comparator.comparingInt(m -> m.deployment().inFlight));
        return members.stream().map(Member::deployment).toList();
      }
      default -> {
        // tiers by priority; inside a tier a weighted random order (Efraimidis-Spirakis keys)
        Map<Member, Double> keys = new java.util.HashMap<>();
        for (Member m : members) {
          keys.put(m, m.weight() <= 0 ? -1d : Math.pow(random.nextDouble(), 1d / m.weight()));
        }
        members.sort(Comparator.comparingInt(Member::priority).thenComparing(m -> -keys.get(m)));
        return members.stream().map(Member::deployment).toList();
      }
    }
  }
}
