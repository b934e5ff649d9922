package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/** A DingTalk enterprise robot callback ({@code POST /webhooks/dingtalk/{bot}}) as received. */
public record InboundDingTalk(String bot, String timestamp, String sign, Buffer body) {
}
