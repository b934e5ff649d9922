package dev.switchboard.ingress;

import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpMessage;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;

/**
 * Vert.x's request decoder, except that a request with both {@code Content-Length} and
 * {@code Transfer-Encoding} is marked invalid instead of having its {@code Content-Length}
 * silently dropped: such a request is how requests are smuggled past proxies, and RFC 9112 §6.1
 * wants the connection closed after answering it. The invalid request reaches the server's
 * invalid-request handler, which answers 400 and closes.
 */
final class StrictRequestDecoder extends VertxHttpRequestDecoder {

  static final String CONFLICTING_FRAMING = "both Content-Length and Transfer-Encoding";

  StrictRequestDecoder(HttpServerOptions options) {
    super(options);
  }

  @Override
  protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
    super.handleTransferEncodingChunkedWithContentLength(message);
    message.setDecoderResult(DecoderResult.failure(new IllegalArgumentException(CONFLICTING_FRAMING)));
  }
}
