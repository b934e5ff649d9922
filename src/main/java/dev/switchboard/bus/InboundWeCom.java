package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/**
 * A WeCom callback: URL verification ({@code GET}, {@code echostr} set, no body) or a message
 * ({@code POST}, encrypted XML body), with its query signature parameters.
 */
public record InboundWeCom(String bot, String signature, String timestamp, String nonce, String echostr, Buffer body) {
}
