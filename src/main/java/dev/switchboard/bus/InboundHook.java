package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/**
 * A request to {@code POST /webhooks/hooks/{name}} as received: the signature headers and the raw
 * body, which is what the signature covers; {@code headers} (lower-case names, without credentials)
 * go into the event for the rules.
 */
public record InboundHook(String name, String timestamp, String signature, String deliveryId, Buffer body,
                          io.vertx.core.json.JsonObject headers) {
}
