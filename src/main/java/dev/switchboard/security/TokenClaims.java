package dev.switchboard.security;

import dev.switchboard.bus.Failure;
import dev.switchboard.memory.LongTermMemory;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The access claims the {@code token} command mints ({@code --role}, {@code --scope},
 * {@code --memory-scope}), checked before anything is signed: a typo must not mint a token that
 * silently grants nothing, or more than meant.
 */
public final class TokenClaims {

  private TokenClaims() {
  }

  /** The claims for these flags; an unknown role or scope, or a malformed pattern, is an {@link IllegalArgumentException}. */
  public static JsonObject of(List<String> roles, List<String> scopes, List<String> memoryScopes) {
    JsonObject claims = new JsonObject();
    for (String role : roles) {
      if (!Principal.ROLES.contains(role)) {
        throw new IllegalArgumentException("unknown role '" + role + "' (--role takes " + or(Principal.ROLES) + ")");
      }
    }
    List<String> known = Principal.SCOPED.stream().map(RouteFamily::scope).toList();
    for (String scope : scopes) {
      if (!known.contains(scope)) {
        throw new IllegalArgumentException("unknown scope '" + scope + "' (--scope takes " + or(known) + ")");
      }
    }
    memoryScopes.forEach(TokenClaims::checkPattern);
    if (!roles.isEmpty()) {
      claims.put(Principal.ROLES_CLAIM, new JsonArray(List.copyOf(new LinkedHashSet<>(roles))));
    }
    if (!scopes.isEmpty()) {
      claims.put(Principal.SCOPE_CLAIM, String.join(" ", new LinkedHashSet<>(scopes)));
    }
    if (!memoryScopes.isEmpty()) {
      claims.put(Principal.MEMORY_SCOPES_CLAIM, new JsonArray(List.copyOf(new LinkedHashSet<>(memoryScopes))));
    }
    return claims;
  }

  /** A memory scope ({@code user:alice}) or one ending in the wildcard segment ({@code tenant:acme:*}); {@code *} nowhere else. */
  static String checkPattern(String pattern) {
    String bad = "bad memory scope pattern '" + pattern + "' (--memory-scope takes a scope such as user:alice, "
        + "or one whose last segment is *, such as tenant:acme:*)";
    if (pattern == null) {
      throw new IllegalArgumentException(bad);
    }
    String scope = pattern.endsWith(":*") ? pattern.substring(0, pattern.length() - 1) + "x" : pattern;
    if (scope.indexOf('*') >= 0) {
      throw new IllegalArgumentException(bad);
    }
    try {
      LongTermMemory.checkScope(scope);
    } catch (Failure f) {
      throw new IllegalArgumentException(bad);
    }
    return pattern;
  }

  private static String or(List<String> names) {
    return names.subList(0, names.size() - 1).stream().collect(Collectors.joining(", ")) + " or " + names.get(names.size() - 1);
  }
}
