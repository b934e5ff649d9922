package dev.switchboard.security;

/**
 * A bearer token the gateway will not accept. The message is the reason a client sees after
 * "invalid token: ", so it names what is wrong without echoing the token.
 */
public final class InvalidToken extends RuntimeException {

  public InvalidToken(String reason) {
    super(reason, null, false, false);
  }
}
