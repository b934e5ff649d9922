package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/**
 * A request to {@code POST /webhooks/hooks/{name}} as received: the signature headers and the raw
 * body, which is what the signature covers.
 */
public record InboundHook(String name, String timestamp, String signature, String deliveryId, Buffer body) {
}
