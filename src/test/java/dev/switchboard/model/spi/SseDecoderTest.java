package dev.switchboard.model.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("The SSE decoder finds events however the bytes are split")
class SseDecoderTest {

  private static final String STREAM = "data: {\"choices\":[{\"delta\":{\"content\":\"h\u00e9\"}}]}\r\n\r\n"
      + ": keep-alive\n\n"
      + "data: {\"choices\":[{\"delta\":{\"content\":\"llo\"}}]}\n\n"
      + "data: [DONE]\n\n";

  private static List<ModelProvider.Event> decode(int pieceSize) {
    OpenAiCompatible.SseDecoder decoder = new OpenAiCompatible.SseDecoder(false);
    byte[] bytes = STREAM.getBytes(StandardCharsets.UTF_8);
    List<ModelProvider.Event> events = new ArrayList<>();
    for (int at = 0; at < bytes.length; at += pieceSize) {
      events.addAll(decoder.feed(Buffer.buffer().appendBytes(bytes, at, Math.min(pieceSize, bytes.length - at))));
    }
    events.addAll(decoder.end());
    return events;
  }

  @Test
  @DisplayName("one byte at a time, a few bytes at a time, or all at once: the same events, CRLF and LF separators alike")
  void splitsDoNotMatter() {
    for (int size : new int[] {1, 2, 3, 5, 7, 64, 4096}) {
      List<ModelProvider.Event> events = decode(size);
      assertEquals(3, events.size(), "pieces of " + size);
      assertTrue(events.get(0).token(), "pieces of " + size);
      assertEquals("data: {\"choices\":[{\"delta\":{\"content\":\"h\u00e9\"}}]}\n\n",
          events.get(0).sse().toString(StandardCharsets.UTF_8), "pieces of " + size);
      assertEquals("data: {\"choices\":[{\"delta\":{\"content\":\"llo\"}}]}\n\n",
          events.get(1).sse().toString(StandardCharsets.UTF_8), "pieces of " + size);
      assertTrue(events.get(2).done(), "pieces of " + size);
    }
  }
}
