package dev.switchboard.bus;

/**
 * Take one token from the bucket {@code key}, which refills {@code rate} tokens every
 * {@code perMs} up to {@code burst} (security.RateLimits).
 */
public record RateTake(String key, int rate, long perMs, int burst) {
}
