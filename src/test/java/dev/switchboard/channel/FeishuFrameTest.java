package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The long-connection frame codec against vector §1.5 (oapi-sdk Pbbp2.Frame and protobufjs agree on it). */
@DisplayName("Feishu long-connection frames")
class FeishuFrameTest {

  static final String PING_1234 = "0800100018d20920002a0c0a0474797065120470696e67";

  @Test
  @DisplayName("vector 1.5: the ping of service 1234 encodes to the reference bytes")
  void pingVector() {
    assertEquals(PING_1234, HexFormat.of().formatHex(FeishuFrame.ping(1234).encode()));
  }

  @Test
  @DisplayName("vector 1.5 decodes to SeqID 0, LogID 0, service 1234, control, type=ping, no payload")
  void pingVectorDecodes() {
    FeishuFrame f = FeishuFrame.decode(HexFormat.of().parseHex(PING_1234));
    assertEquals(0, f.seqId());
    assertEquals(0, f.logId());
    assertEquals(1234, f.service());
    assertEquals(FeishuFrame.CONTROL, f.method());
    assertEquals(List.of(new FeishuFrame.Header("type", "ping")), f.headers());
    assertNull(f.payload());
    assertNull(f.payloadEncoding());
  }

  @Test
  @DisplayName("a data frame with every field survives encode and decode, large numbers and UTF-8 included")
  void roundTrip() {
    byte[] payload = "{\"text\":\"你好\"}".getBytes(StandardCharsets.UTF_8);
    FeishuFrame f = new FeishuFrame(Long.MAX_VALUE, 1L << 40, 987654, FeishuFrame.DATA,
        List.of(new FeishuFrame.Header("type", "event"), new FeishuFrame.Header("message_id", "m-1")),
        "json", "event", payload, "log-new");
    FeishuFrame back = FeishuFrame.decode(f.encode());
    assertEquals(f.seqId(), back.seqId());
    assertEquals(f.logId(), back.logId());
    assertEquals(f.service(), back.service());
    assertEquals(f.headers(), back.headers());
    assertEquals("json", back.payloadEncoding());
    assertEquals("event", back.payloadType());
    assertArrayEquals(payload, back.payload());
    assertEquals("log-new", back.logIdNew());
  }

  @Test
  @DisplayName("a negative int32 service is sign-extended to ten bytes, as protobuf writes it, and read back")
  void negativeService() {
    byte[] bytes = new FeishuFrame(0, 0, -1, 0, List.of(), null, null, null, null).encode();
    assertEquals("08001000" + "18ffffffffffffffffff01" + "2000", HexFormat.of().formatHex(bytes));
    assertEquals(-1, FeishuFrame.decode(bytes).service());
  }

  @Test
  @DisplayName("unknown fields of every wire type are skipped")
  void unknownFieldsSkipped() {
    // field 15 varint 1, field 16 fixed64, field 17 bytes "x", field 18 fixed32, then the vector
    String unknown = "7801" + "8101" + "0102030405060708" + "8a0101" + "78" + "9501" + "01020304";
    FeishuFrame f = FeishuFrame.decode(HexFormat.of().parseHex(unknown + PING_1234));
    assertEquals(1234, f.service());
    assertEquals("ping", f.header("type"));
  }

  @Test
  @DisplayName("an ack keeps the frame's fields and headers, replaces the payload and adds biz_rt")
  void answerKeepsFields() {
    FeishuFrame f = new FeishuFrame(7, 8, 9, FeishuFrame.DATA, List.of(new FeishuFrame.Header("type", "event")),
        null, null, "{}".getBytes(StandardCharsets.UTF_8), null);
    FeishuFrame ack = FeishuFrame.decode(f.answer("{\"code\":200}".getBytes(StandardCharsets.UTF_8),
        new FeishuFrame.Header("biz_rt", "3")).encode());
    assertEquals(7, ack.seqId());
    assertEquals(8, ack.logId());
    assertEquals(9, ack.service());
    assertEquals("event", ack.header("type"));
    assertEquals("3", ack.header("biz_rt"));
    assertEquals("{\"code\":200}", new String(ack.payload(), StandardCharsets.UTF_8));
  }

  @Test
  @DisplayName("a length past the end of the frame is refused, not read beyond")
  void truncatedRefused() {
    byte[] bytes = HexFormat.of().parseHex("0800100018d20920002a0c0a04747970");
    assertThrows(IllegalArgumentException.class, () -> FeishuFrame.decode(bytes));
  }

  @Test
  @DisplayName("the service id comes from the connection URL's query")
  void serviceIdFromUrl() {
    assertEquals(1234, FeishuLongConnectionVerticle.serviceId("wss://x.feishu.cn/ws/v2?fpid=1&device_id=7&service_id=1234&aid=2"));
    assertEquals(0, FeishuLongConnectionVerticle.serviceId("wss://x.feishu.cn/ws/v2"));
  }
}
