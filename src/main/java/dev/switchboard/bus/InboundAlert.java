package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/**
 * A request to {@code POST /webhooks/alertmanager/{name}} as received: the Authorization header
 * (Alertmanager's {@code http_config.authorization} sends {@code Bearer <token>}), the signature
 * headers of our own hooks for receivers that sign instead, and the raw body.
 */
public record InboundAlert(String name, String authorization, String timestamp, String signature, Buffer body) {
}
