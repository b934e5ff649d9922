package dev.switchboard;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.switchboard.security.JwtSecret;
import dev.switchboard.security.Principal;
import dev.switchboard.security.Tokens;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The token command's access flags")
class TokenCommandTest {

  static Main.TokenArgs parse(String... args) {
    String[] all = new String[args.length + 1];
    all[0] = "token";
    System.arraycopy(args, 0, all, 1, args.length);
    return Main.tokenArgs(all);
  }

  static String refusal(String... args) {
    return assertThrows(IllegalArgumentException.class, () -> parse(args)).getMessage();
  }

  @Test
  @DisplayName("--role, --scope and --memory-scope are repeatable and become roles, scope and memory_scopes")
  void flagsBecomeClaims() {
    Main.TokenArgs t = parse("--sub", "ci", "--role", "operator", "--role", "client", "--scope", "chat", "--scope", "tasks",
        "--memory-scope", "user:alice", "--memory-scope", "tenant:acme:*", "--ttl", "30m");
    assertEquals("ci", t.subject());
    assertEquals(Duration.ofMinutes(30), t.ttl());
    assertEquals(new JsonObject().put("roles", new JsonArray().add("operator").add("client")).put("scope", "chat tasks")
        .put("memory_scopes", new JsonArray().add("user:alice").add("tenant:acme:*")), t.claims());
  }

  @Test
  @DisplayName("without access flags the token has no access claims (a legacy token, as before)")
  void noFlagsNoClaims() {
    assertEquals(new JsonObject(), parse("--sub", "alice").claims());
  }

  @Test
  @DisplayName("an unknown role is refused with one line naming the roles")
  void unknownRole() {
    assertEquals("unknown role 'root' (--role takes admin, operator or client)", refusal("--sub", "a", "--role", "root"));
  }

  @Test
  @DisplayName("an unknown scope is refused with one line naming the family scopes")
  void unknownScope() {
    assertEquals("unknown scope 'mcp' (--scope takes chat, tasks, memories:read, memories:write, deliveries or admin)",
        refusal("--sub", "a", "--scope", "mcp"));
    assertFalse(refusal("--sub", "a", "--scope", "memories").isEmpty());
  }

  @Test
  @DisplayName("a memory scope pattern with * anywhere but as its last segment, or that is no scope, is refused")
  void badMemoryScopePatterns() {
    for (String bad : new String[] {"*", "user:*x", "tenant:*:team", "alice", "user:a*"}) {
      assertEquals("bad memory scope pattern '" + bad + "' (--memory-scope takes a scope such as user:alice, "
          + "or one whose last segment is *, such as tenant:acme:*)", refusal("--sub", "a", "--memory-scope", bad), bad);
    }
  }

  @Test
  @DisplayName("a flag without its value is refused")
  void flagWithoutValue() {
    assertEquals("--role needs a value", refusal("--sub", "a", "--role"));
  }

  @Test
  @DisplayName("an unknown option names the options there are")
  void unknownOption() {
    assertEquals("unknown option '--roles' (token --sub NAME [--ttl 1h] [--role R]... [--scope S]... [--memory-scope P]...)",
        refusal("--sub", "a", "--roles", "admin"));
  }

  @Test
  @DisplayName("the minted token carries the claims, and the gateway reads them back as its principal")
  void mintedTokenCarriesTheClaims() throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      JWTAuth auth = Tokens.auth(vertx, new JwtSecret("roles-test-secret-0123456789abcdef0123", "test"));
      Main.TokenArgs t = parse("--sub", "ci", "--role", "client", "--scope", "chat", "--memory-scope", "user:ci");
      String jwt = Tokens.issue(auth, t.subject(), t.ttl(), t.claims());
      JsonObject claims = auth.authenticate(new TokenCredentials(jwt)).await(5, TimeUnit.SECONDS).principal();
      Principal p = Principal.of(claims, false);
      assertEquals("ci", p.subject());
      assertEquals(Set.of("client"), p.roles());
      assertEquals(Set.of("chat"), p.scopes());
      assertEquals(java.util.List.of("user:ci"), p.memoryScopes());
    } finally {
      vertx.close().await(5, TimeUnit.SECONDS);
    }
  }
}
