package dev.switchboard.channel;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One frame of the Feishu/Lark long connection: proto2 {@code pbbp2.Frame} (protocols §5.8). Two
 * tiny messages do not need protobuf-java and generated code, so this is the wire format by hand:
 * fields written in number order, required ones always (even when 0), optional ones only when set;
 * unknown fields are skipped when reading.
 *
 * @param method 0 = control (ping/pong), 1 = data (event/card)
 * @param payloadEncoding null when absent
 * @param payloadType null when absent
 * @param payload null when absent
 * @param logIdNew null when absent
 */
record FeishuFrame(long seqId, long logId, int service, int method, List<Header> headers, String payloadEncoding,
                   String payloadType, byte[] payload, String logIdNew) {

  static final int CONTROL = 0;
  static final int DATA = 1;

  record Header(String key, String value) {
  }

  FeishuFrame {
    headers = List.copyOf(headers);
  }

  /** The client's keepalive: SeqID 0, LogID 0, method control, the one header type=ping (vector §1.5). */
  static FeishuFrame ping(int service) {
    return new FeishuFrame(0, 0, service, CONTROL, List.of(new Header("type", "ping")), null, null, null, null);
  }

  /** The value of the first header named {@code key}, or null. */
  String header(String key) {
    for (Header h : headers) {
      if (h.key().equals(key)) {
        return h.value();
      }
    }
    return null;
  }

  /** The header as an int, or {@code otherwise} when it is absent or not a number. */
  int intHeader(String key, int otherwise) {
    try {
      String v = header(key);
      return v == null ? otherwise : Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      return otherwise;
    }
  }

  /** This frame sent back as its acknowledgement: same fields, {@code payload} replaced, {@code extra} headers added. */
  FeishuFrame answer(byte[] newPayload, Header... extra) {
    List<Header> all = new ArrayList<>(headers);
    all.addAll(List.of(extra));
    return new FeishuFrame(seqId, logId, service, method, all, payloadEncoding, payloadType, newPayload, logIdNew);
  }

  // ---------------------------------------------------------------------------------------------
  // encoding

  byte[] encode() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(64 + (payload == null ? 0 : payload.length));
    tag(out, 1, 0);
    varint(out, seqId);
    tag(out, 2, 0);
    varint(out, logId);
    tag(out, 3, 0);
    varint(out, service); // int32: a negative one is sign-extended to ten bytes, as protobuf does
    tag(out, 4, 0);
    varint(out, method);
    for (Header h : headers) {
      ByteArrayOutputStream inner = new ByteArrayOutputStream();
      bytes(inner, 1, h.key().getBytes(StandardCharsets.UTF_8));
      bytes(inner, 2, h.value().getBytes(StandardCharsets.UTF_8));
      bytes(out, 5, inner.toByteArray());
    }
    if (payloadEncoding != null) {
      bytes(out, 6, payloadEncoding.getBytes(StandardCharsets.UTF_8));
    }
    if (payloadType != null) {
      bytes(out, 7, payloadType.getBytes(StandardCharsets.UTF_8));
    }
    if (payload != null) {
      bytes(out, 8, payload);
    }
    if (logIdNew != null) {
      bytes(out, 9, logIdNew.getBytes(StandardCharsets.UTF_8));
    }
    return out.toByteArray();
  }

  private static void tag(ByteArrayOutputStream out, int field, int wireType) {
    varint(out, (long) field << 3 | wireType);
  }

  private static void varint(ByteArrayOutputStream out, long value) {
    while ((value & ~0x7FL) != 0) {
      out.write((int) (value & 0x7F) | 0x80);
      value >>>= 7;
    }
    out.write((int) value);
  }

  private static void bytes(ByteArrayOutputStream out, int field, byte[] data) {
    tag(out, field, 2);
    varint(out, data.length);
    out.write(data, 0, data.length);
  }

  // ---------------------------------------------------------------------------------------------
  // decoding

  /** Reads one frame; IllegalArgumentException when the bytes are not one. */
  static FeishuFrame decode(byte[] data) {
    Reader in = new Reader(data, 0, data.length);
    long seq = 0;
    long log = 0;
    int service = 0;
    int method = 0;
    List<Header> headers = new ArrayList<>();
    String encoding = null;
    String type = null;
    byte[] payload = null;
    String logIdNew = null;
    while (in.more()) {
      long key = in.varint();
      int field = (int) (key >>> 3);
      int wire = (int) (key & 7);
      switch (field) {
        case 1 -> seq = in.varintOf(wire);
        case 2 -> log = in.varintOf(wire);
        case 3 -> service = (int) in.varintOf(wire);
        case 4 -> method = (int) in.varintOf(wire);
        case 5 -> headers.add(header(in.lengthDelimited(wire)));
        case 6 -> encoding = utf8(in.lengthDelimited(wire));
        case 7 -> type = utf8(in.lengthDelimited(wire));
        case 8 -> payload = in.lengthDelimited(wire);
        case 9 -> logIdNew = utf8(in.lengthDelimited(wire));
        default -> in.skip(wire);
      }
    }
    return new FeishuFrame(seq, log, service, method, headers, encoding, type, payload, logIdNew);
  }

  private static Header header(byte[] data) {
    Reader in = new Reader(data, 0, data.length);
    String key = "";
    String value = "";
    while (in.more()) {
      long k = in.varint();
      int field = (int) (k >>> 3);
      int wire = (int) (k & 7);
      switch (field) {
        case 1 -> key = utf8(in.lengthDelimited(wire));
        case 2 -> value = utf8(in.lengthDelimited(wire));
        default -> in.skip(wire);
      }
    }
    return new Header(key, value);
  }

  private static String utf8(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static final class Reader {
    private final byte[] data;
    private int pos;
    private final int end;

    Reader(byte[] data, int pos, int end) {
      this.data = data;
      this.pos = pos;
      this.end = end;
    }

    boolean more() {
      return pos < end;
    }

    long varint() {
      long result = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos >= end) {
          throw new IllegalArgumentException("truncated varint");
        }
        byte b = data[pos++];
        result |= (long) (b & 0x7F) << shift;
        if ((b & 0x80) == 0) {
          return result;
        }
      }
      throw new IllegalArgumentException("varint longer than 10 bytes");
    }

    long varintOf(int wire) {
      if (wire != 0) {
        throw new IllegalArgumentException("expected a varint, got wire type " + wire);
      }
      return varint();
    }

    byte[] lengthDelimited(int wire) {
      if (wire != 2) {
        throw new IllegalArgumentException("expected length-delimited, got wire type " + wire);
      }
      long length = varint();
      if (length < 0 || length > end - pos) {
        throw new IllegalArgumentException("length " + length + " runs past the frame");
      }
      byte[] out = java.util.Arrays.copyOfRange(data, pos, pos + (int) length);
      pos += (int) length;
      return out;
    }

    void skip(int wire) {
      switch (wire) {
        case 0 -> varint();
        case 1 -> advance(8);
        case 2 -> lengthDelimited(2);
        case 5 -> advance(4);
        default -> throw new IllegalArgumentException("unsupported wire type " + wire);
      }
    }

    private void advance(int n) {
      if (n > end - pos) {
        throw new IllegalArgumentException("truncated field");
      }
      pos += n;
    }
  }
}
