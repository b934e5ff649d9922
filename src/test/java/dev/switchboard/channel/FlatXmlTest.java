package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** WeCom's flat XML, read without a parser or a pattern. */
@DisplayName("WeCom's flat XML")
class FlatXmlTest {

  @Test
  @DisplayName("reads CDATA and bare text children of the root, in one pass")
  void children() {
    Map<String, String> fields = FlatXml.children("<?xml version=\"1.0\"?>\n<xml>\n <ToUserName><![CDATA[corp]]></ToUserName>\n"
        + " <CreateTime>1348831860</CreateTime><Content><![CDATA[a < b && c]]></Content><Empty></Empty></xml>");
    assertEquals(Map.of("ToUserName", "corp", "CreateTime", "1348831860", "Content", "a < b && c", "Empty", ""), fields);
  }

  @Test
  @DisplayName("an element with elements inside keeps its markup; a repeated name keeps its first value")
  void nestedAndRepeated() {
    Map<String, String> fields = FlatXml.children(
        "<xml><ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType></ScanCodeInfo><MsgId>1</MsgId><MsgId>2</MsgId></xml>");
    assertEquals("<ScanType><![CDATA[qrcode]]></ScanType>", fields.get("ScanCodeInfo"));
    assertEquals("1", fields.get("MsgId"));
  }

  @Test
  @DisplayName("markup inside CDATA is text, not elements")
  void cdataIsText() {
    assertEquals("7", FlatXml.child("<xml><Content><![CDATA[<MsgId>1</MsgId>]]></Content><MsgId>7</MsgId></xml>", "MsgId"));
  }

  @Test
  @DisplayName("bare text has its five entities decoded")
  void entities() {
    assertEquals("<a & \"b\">", FlatXml.child("<xml><T>&lt;a &amp; &quot;b&quot;&gt;</T></xml>", "T"));
  }

  @Test
  @DisplayName("what is not of that shape reads as nothing: unterminated CDATA, attributes, a missing close, no root")
  void malformed() {
    assertNull(FlatXml.children("<xml><Encrypt><![CDATA[abc"));
    assertNull(FlatXml.children("<xml>" + "<Encrypt><![CDATA[".repeat(10_000)));
    assertNull(FlatXml.children("<xml><Encrypt a=\"1\">x</Encrypt></xml>"));
    assertNull(FlatXml.children("<xml><Encrypt>x</Other></xml>"));
    assertNull(FlatXml.children("just text"));
    assertNull(FlatXml.child("", "Encrypt"));
  }

  @Test
  @DisplayName("a CDATA section must be followed by its element's close tag, so no search goes back inside it")
  void cdataThenClose() {
    assertNull(FlatXml.children("<xml><A><![CDATA[x]]>y</A></xml>"));
    // the shape that cost one scan to the end per section when the close tag was searched from the start
    assertNull(FlatXml.children("<xml>" + "<a><![CDATA[</a>".repeat(20_000) + "]]></xml>"));
    assertEquals("x", FlatXml.child("<xml><A><![CDATA[x]]></A></xml>", "A"));
  }
}
