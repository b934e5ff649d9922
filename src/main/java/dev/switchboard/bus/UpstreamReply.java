package dev.switchboard.bus;

import io.vertx.core.buffer.Buffer;

/** An upstream answer passed back verbatim: status, content type and body. */
public record UpstreamReply(int status, String contentType, Buffer body) {
}
