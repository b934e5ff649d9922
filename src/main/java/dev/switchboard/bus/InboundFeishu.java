package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/** A Feishu/Lark event callback ({@code POST /webhooks/feishu/{bot}}) as received: signature headers and raw body. */
public record InboundFeishu(String bot, String timestamp, String nonce, String signature, Buffer body) {
}
