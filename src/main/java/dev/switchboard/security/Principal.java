package dev.switchboard.security;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Who a verified token speaks for and what it may do: its subject, its {@code roles}, the
 * families its {@code scope} narrows it to, and the {@code memory_scopes} patterns that bound
 * which long-term memory scopes it may read and write. The one place that decides whether a
 * request's family is allowed ({@link #refusal}); HTTP routes, MCP tools and the event-bus
 * bridges all ask it.
 *
 * <p>{@code roles} and {@code scopes} are as the token says (unknown names grant nothing);
 * empty {@code scopes} means no narrowing; empty {@code memoryScopes} means any memory scope (as
 * before roles existed). {@code legacy} is a token without roles while
 * {@code security.legacy_tokens} is true: every family, as before roles existed.
 */
public record Principal(String subject, Set<String> roles, Set<String> scopes, List<String> memoryScopes, boolean legacy) {

  public static final String ADMIN = "admin";
  public static final String OPERATOR = "operator";
  public static final String CLIENT = "client";
  /** The roles a token may name, strongest first. */
  public static final List<String> ROLES = List.of(ADMIN, OPERATOR, CLIENT);
  /**
   * The families a {@code scope} claim may name. {@code /mcp} has no scope of its own: each of its
   * tools is checked against the family of what it does.
   */
  public static final List<RouteFamily> SCOPED = List.of(RouteFamily.CHAT, RouteFamily.TASKS, RouteFamily.MEMORIES_READ,
      RouteFamily.MEMORIES_WRITE, RouteFamily.DELIVERIES, RouteFamily.ADMIN);

  public static final String ROLES_CLAIM = "roles";
  public static final String SCOPE_CLAIM = "scope";
  public static final String MEMORY_SCOPES_CLAIM = "memory_scopes";

  /** The one refusal a token without roles gets when legacy tokens are off. */
  public static final String NO_ROLES = "token has no roles (security.legacy_tokens is false): mint one with --role";

  public Principal {
    subject = subject == null ? "" : subject;
    roles = Collections.unmodifiableSet(new LinkedHashSet<>(roles));
    scopes = Collections.unmodifiableSet(new LinkedHashSet<>(scopes));
    memoryScopes = List.copyOf(memoryScopes);
  }

  /**
   * The principal of verified claims. A claim of the wrong type makes the token unusable
   * ({@link IllegalArgumentException} with the reason) rather than quietly wider than meant.
   */
  public static Principal of(JsonObject claims, boolean legacyTokens) {
    Object sub = claims.getValue("sub");
    List<String> roles = strings(claims.getValue(ROLES_CLAIM), ROLES_CLAIM);
    Object scope = claims.getValue(SCOPE_CLAIM);
    if (scope != null && !(scope instanceof String)) {
      throw new IllegalArgumentException("'scope' must be a space-separated string");
    }
    Set<String> scopes = new LinkedHashSet<>();
    if (scope != null) {
      for (String s : ((String) scope).trim().split("\\s+")) {
        if (!s.isEmpty()) {
          scopes.add(s);
        }
      }
    }
    List<String> patterns = strings(claims.getValue(MEMORY_SCOPES_CLAIM), MEMORY_SCOPES_CLAIM);
    return new Principal(sub instanceof String s ? s : "", new LinkedHashSet<>(roles), scopes, patterns,
        roles.isEmpty() && legacyTokens);
  }

  private static List<String> strings(Object value, String claim) {
    if (value == null) {
      return List.of();
    }
    if (value instanceof JsonArray a && a.stream().allMatch(x -> x instanceof String)) {
      List<String> out = new ArrayList<>();
      a.forEach(x -> out.add((String) x));
      return out;
    }
    throw new IllegalArgumentException("'" + claim + "' must be an array of strings");
  }

  /** Whether this token may use {@code family} in full (changes included); for callers without an HTTP method. */
  /**
   * Whether this caller sees every task, or only those its subject submitted: a token whose roles
   * are {@code client} alone sees its own (so another subject's input, result and trace, and a
   * retry with that subject's memory scopes, stay out of its reach); operators, admins and legacy
   * tokens see all.
   */
  public boolean seesEveryTask() {
    return legacy || roles.contains(ADMIN) || roles.contains(OPERATOR);
  }

  /** Whether {@code task} (its API view, which names its {@code subject}) is one this caller may see and act on. */
  public boolean maySee(JsonObject task) {
    return seesEveryTask() || subject.equals(task.getString("subject"));
  }

  public boolean permits(RouteFamily family) {
    return refusal(family, HttpMethod.POST) == null;
  }

  public boolean permits(RouteFamily family, HttpMethod method) {
    return refusal(family, method) == null;
  }

  /** Why this token may not use {@code family} with {@code method}, in words a client can act on; null when it may. */
  public String refusal(RouteFamily family, HttpMethod method) {
    if (family == RouteFamily.OPEN || family == RouteFamily.WEBHOOKS) {
      return null;
    }
    if (!legacy) {
      if (roles.isEmpty()) {
        return NO_ROLES;
      }
      if (!byRole(family, method)) {
        return "token" + forWhom() + " with roles " + String.join(", ", roles) + " may not " + action(family, method)
            + ": " + needs(family, method);
      }
    }
    if (!scopes.isEmpty() && family != RouteFamily.MCP && !scopes.contains(family.scope())) {
      return "token" + forWhom() + " has scope '" + String.join(" ", scopes) + "', which does not include '"
          + family.scope() + "'";
    }
    return null;
  }

  private boolean byRole(RouteFamily family, HttpMethod method) {
    if (roles.contains(ADMIN)) {
      return true;
    }
    if (roles.contains(OPERATOR) && (family != RouteFamily.ADMIN || reads(method))) {
      return true;
    }
    return roles.contains(CLIENT) && switch (family) {
      case CHAT, TASKS, MEMORIES_READ, MEMORIES_WRITE, MCP -> true;
      default -> false;
    };
  }

  private static boolean reads(HttpMethod method) {
    return HttpMethod.GET.equals(method) || HttpMethod.HEAD.equals(method);
  }

  private static String action(RouteFamily family, HttpMethod method) {
    return switch (family) {
      case ADMIN -> reads(method) ? "read admin routes" : "change admin settings";
      case MCP -> "use /mcp";
      default -> "use " + family.scope() + " routes";
    };
  }

  private static String needs(RouteFamily family, HttpMethod method) {
    if (family == RouteFamily.ADMIN && !reads(method)) {
      return "that needs role admin";
    }
    return family == RouteFamily.ADMIN || family == RouteFamily.DELIVERIES
        ? "that needs role admin or operator" : "that needs role admin, operator or client";
  }

  private String forWhom() {
    return subject.isEmpty() ? "" : " for '" + subject + "'";
  }

  /** Whether {@code scope} (a memory scope such as {@code user:alice}) is within this token's {@code memory_scopes}. */
  public boolean permitsMemoryScope(String scope) {
    if (memoryScopes.isEmpty()) {
      return true;
    }
    for (String pattern : memoryScopes) {
      if (matches(pattern, scope)) {
        return true;
      }
    }
    return false;
  }

  /**
   * {@code tenant:acme:*} covers every scope under {@code tenant:acme:} (not {@code tenant:acme}
   * itself); any other pattern covers exactly itself. A {@code *} elsewhere is no wildcard, so a
   * pattern minted elsewhere can only narrow, never widen.
   */
  static boolean matches(String pattern, String scope) {
    if (pattern.endsWith(":*")) {
      String prefix = pattern.substring(0, pattern.length() - 1);
      return scope.length() > prefix.length() && scope.startsWith(prefix);
    }
    return pattern.equals(scope);
  }

  /** The refusal of the first of {@code scopes} outside {@code memory_scopes}, or null. */
  public String memoryRefusal(List<String> scopes, boolean write) {
    for (String scope : scopes) {
      if (!permitsMemoryScope(scope)) {
        return "token" + forWhom() + " may not " + (write ? "write" : "read") + " memory scope '" + scope
            + "' (its memory_scopes: " + String.join(", ", memoryScopes) + ")";
      }
    }
    return null;
  }
}
