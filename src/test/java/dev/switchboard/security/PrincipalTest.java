package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

@DisplayName("What a token's roles, scope and memory scopes allow")
class PrincipalTest {

  static Principal withRoles(String... roles) {
    return Principal.of(new JsonObject().put("sub", "alice").put("roles", new JsonArray(List.of(roles))), true);
  }

  /** Each role against each family: admin GET/POST stands for reading and changing admin routes. */
  @ParameterizedTest(name = "{0} on {1} {2}: {3}")
  @CsvSource({
      "admin,    CHAT,           POST,   allowed",
      "admin,    TASKS,          POST,   allowed",
      "admin,    MEMORIES_READ,  GET,    allowed",
      "admin,    MEMORIES_WRITE, POST,   allowed",
      "admin,    DELIVERIES,     GET,    allowed",
      "admin,    ADMIN,          GET,    allowed",
      "admin,    ADMIN,          PUT,    allowed",
      "admin,    MCP,            POST,   allowed",
      "operator, CHAT,           POST,   allowed",
      "operator, TASKS,          POST,   allowed",
      "operator, MEMORIES_READ,  GET,    allowed",
      "operator, MEMORIES_WRITE, DELETE, allowed",
      "operator, DELIVERIES,     POST,   allowed",
      "operator, ADMIN,          GET,    allowed",
      "operator, ADMIN,          PUT,    refused",
      "operator, ADMIN,          POST,   refused",
      "operator, MCP,            POST,   allowed",
      "client,   CHAT,           POST,   allowed",
      "client,   TASKS,          POST,   allowed",
      "client,   MEMORIES_READ,  GET,    allowed",
      "client,   MEMORIES_WRITE, POST,   allowed",
      "client,   DELIVERIES,     GET,    refused",
      "client,   ADMIN,          GET,    refused",
      "client,   ADMIN,          PUT,    refused",
      "client,   MCP,            POST,   allowed",
  })
  void eachRoleAgainstEachFamily(String role, RouteFamily family, String method, String outcome) {
    assertEquals("allowed".equals(outcome), withRoles(role).permits(family, HttpMethod.valueOf(method)));
  }

  @Test
  @DisplayName("health, readiness and webhooks are no token's business: every principal passes")
  void openFamiliesAreNotChecked() {
    Principal nobody = Principal.of(new JsonObject(), false);
    assertTrue(nobody.permits(RouteFamily.OPEN, HttpMethod.GET));
    assertTrue(nobody.permits(RouteFamily.WEBHOOKS, HttpMethod.POST));
  }

  @Test
  @DisplayName("several roles add up")
  void rolesAddUp() {
    assertTrue(withRoles("client", "operator").permits(RouteFamily.DELIVERIES, HttpMethod.GET));
  }

  @Test
  @DisplayName("an unknown role grants nothing")
  void unknownRoleGrantsNothing() {
    Principal p = withRoles("superuser");
    assertFalse(p.legacy());
    assertFalse(p.permits(RouteFamily.CHAT, HttpMethod.POST));
  }

  @Test
  @DisplayName("the refusal says what the token has and which role it needs")
  void refusalSaysWhy() {
    assertEquals("token for 'alice' with roles client may not read admin routes: that needs role admin or operator",
        withRoles("client").refusal(RouteFamily.ADMIN, HttpMethod.GET));
    assertEquals("token for 'alice' with roles operator may not change admin settings: that needs role admin",
        withRoles("operator").refusal(RouteFamily.ADMIN, HttpMethod.PUT));
    assertEquals("token for 'alice' with roles client may not use deliveries routes: that needs role admin or operator",
        withRoles("client").refusal(RouteFamily.DELIVERIES, HttpMethod.GET));
  }

  @Test
  @DisplayName("permits(family) without a method means using it in full, changes included")
  void permitsWithoutMethodIsFullUse() {
    assertTrue(withRoles("operator").permits(RouteFamily.TASKS));
    assertFalse(withRoles("operator").permits(RouteFamily.ADMIN));
  }

  // ---------------------------------------------------------------------------------------------
  // scope

  @Test
  @DisplayName("a scope claim narrows a role to the families it lists")
  void scopeNarrows() {
    Principal p = Principal.of(new JsonObject().put("sub", "ci").put("roles", new JsonArray().add("admin"))
        .put("scope", "chat memories:read"), true);
    assertTrue(p.permits(RouteFamily.CHAT, HttpMethod.POST));
    assertTrue(p.permits(RouteFamily.MEMORIES_READ, HttpMethod.GET));
    assertFalse(p.permits(RouteFamily.MEMORIES_WRITE, HttpMethod.POST));
    assertEquals("token for 'ci' has scope 'chat memories:read', which does not include 'admin'",
        p.refusal(RouteFamily.ADMIN, HttpMethod.GET));
  }

  @Test
  @DisplayName("a scope cannot widen a role: a client with scope admin is still no admin")
  void scopeCannotWiden() {
    Principal p = Principal.of(new JsonObject().put("roles", new JsonArray().add("client")).put("scope", "admin"), true);
    assertFalse(p.permits(RouteFamily.ADMIN, HttpMethod.GET));
  }

  @Test
  @DisplayName("/mcp itself is not narrowed by scope: each tool is, by the family of what it does")
  void mcpIsNotNarrowedByScope() {
    Principal p = Principal.of(new JsonObject().put("roles", new JsonArray().add("client")).put("scope", "tasks"), true);
    assertTrue(p.permits(RouteFamily.MCP, HttpMethod.POST));
    assertTrue(p.permits(RouteFamily.TASKS));
    assertFalse(p.permits(RouteFamily.MEMORIES_READ));
  }

  @Test
  @DisplayName("a legacy token with a scope is narrowed too")
  void legacyTokenWithScopeIsNarrowed() {
    Principal p = Principal.of(new JsonObject().put("scope", "chat"), true);
    assertTrue(p.legacy());
    assertTrue(p.permits(RouteFamily.CHAT, HttpMethod.POST));
    assertFalse(p.permits(RouteFamily.TASKS, HttpMethod.POST));
  }

  // ---------------------------------------------------------------------------------------------
  // legacy tokens

  @Test
  @DisplayName("legacy_tokens true: a token without roles may use every family")
  void legacyOn() {
    Principal p = Principal.of(new JsonObject().put("sub", "old"), true);
    assertTrue(p.legacy());
    for (RouteFamily f : RouteFamily.values()) {
      assertTrue(p.permits(f, HttpMethod.PUT), f.name());
    }
  }

  @Test
  @DisplayName("legacy_tokens false: a token without roles is refused everywhere, and told to mint one with --role")
  void legacyOff() {
    Principal p = Principal.of(new JsonObject().put("sub", "old"), false);
    assertFalse(p.legacy());
    assertEquals("token has no roles (security.legacy_tokens is false): mint one with --role",
        p.refusal(RouteFamily.CHAT, HttpMethod.POST));
    assertFalse(p.permits(RouteFamily.MCP, HttpMethod.POST));
  }

  @Test
  @DisplayName("a token with roles is never legacy")
  void rolesAreNotLegacy() {
    assertFalse(withRoles("client").legacy());
  }

  // ---------------------------------------------------------------------------------------------
  // memory scopes

  static Principal limitedTo(String... patterns) {
    return Principal.of(new JsonObject().put("sub", "alice").put("roles", new JsonArray().add("client"))
        .put("memory_scopes", new JsonArray(List.of(patterns))), true);
  }

  @Test
  @DisplayName("memory_scopes: a listed scope is allowed, any other refused")
  void exactMemoryScope() {
    Principal p = limitedTo("user:alice");
    assertTrue(p.permitsMemoryScope("user:alice"));
    assertFalse(p.permitsMemoryScope("user:bob"));
    assertFalse(p.permitsMemoryScope("user:alice2"));
  }

  @Test
  @DisplayName("memory_scopes: tenant:acme:* covers every scope under tenant:acme:, not tenant:acme itself nor tenant:acmecorp")
  void wildcardMemoryScope() {
    Principal p = limitedTo("tenant:acme:*");
    assertTrue(p.permitsMemoryScope("tenant:acme:team1"));
    assertTrue(p.permitsMemoryScope("tenant:acme:team1:ops"));
    assertFalse(p.permitsMemoryScope("tenant:acme"));
    assertFalse(p.permitsMemoryScope("tenant:acmecorp:team1"));
  }

  @Test
  @DisplayName("memory_scopes: a * anywhere but the last segment is no wildcard")
  void starElsewhereIsLiteral() {
    Principal p = limitedTo("user:*x", "*");
    assertFalse(p.permitsMemoryScope("user:ax"));
    assertFalse(p.permitsMemoryScope("user:alice"));
    assertTrue(p.permitsMemoryScope("user:*x"));
  }

  @Test
  @DisplayName("no memory_scopes claim: any memory scope, as before")
  void noMemoryScopesIsAny() {
    assertTrue(withRoles("client").permitsMemoryScope("user:anyone"));
  }

  @Test
  @DisplayName("the memory refusal names the scope and the token's patterns")
  void memoryRefusalSaysWhy() {
    assertEquals("token for 'alice' may not read memory scope 'user:bob' (its memory_scopes: user:alice, tenant:acme:*)",
        limitedTo("user:alice", "tenant:acme:*").memoryRefusal(List.of("user:alice", "user:bob"), false));
    assertNull(limitedTo("user:alice").memoryRefusal(List.of("user:alice"), true));
  }

  // ---------------------------------------------------------------------------------------------
  // claims

  @Test
  @DisplayName("claims are read as RFC 9068 has them: roles an array, scope a space-separated string")
  void claimsAreRead() {
    Principal p = Principal.of(new JsonObject().put("sub", "bot").put("roles", new JsonArray().add("operator"))
        .put("scope", " chat  tasks ").put("memory_scopes", new JsonArray().add("agent:helper")), false);
    assertEquals("bot", p.subject());
    assertEquals(Set.of("operator"), p.roles());
    assertEquals(Set.of("chat", "tasks"), p.scopes());
    assertEquals(List.of("agent:helper"), p.memoryScopes());
  }

  @Test
  @DisplayName("a claim of the wrong type makes the token unusable rather than wider than meant")
  void malformedClaimsAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> Principal.of(new JsonObject().put("roles", "admin"), true));
    assertThrows(IllegalArgumentException.class, () -> Principal.of(new JsonObject().put("scope", new JsonArray().add("chat")), true));
    assertThrows(IllegalArgumentException.class, () -> Principal.of(new JsonObject().put("memory_scopes", "user:alice"), true));
    assertThrows(IllegalArgumentException.class, () -> Principal.of(new JsonObject().put("roles", new JsonArray().add(1)), true));
  }
}
