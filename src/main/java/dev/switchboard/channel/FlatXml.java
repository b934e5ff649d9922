package dev.switchboard.channel;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * WeCom's flat XML ({@code <xml><Name><![CDATA[...]]></Name><Other>text</Other>...</xml>}) read in
 * one forward pass: every search starts where the previous one ended, so the work is linear in the
 * length of the input whatever it holds. No XML parser sees input from outside (no entities, no
 * DTDs), and no regular expression either: the DOTALL patterns this replaces backtracked over the
 * rest of the body at every candidate start, which made a crafted body of a few hundred KB cost
 * seconds of CPU.
 */
final class FlatXml {

  private static final String CDATA_OPEN = "<![CDATA[";
  private static final String CDATA_CLOSE = "]]>";

  private FlatXml() {
  }

  /**
   * The children of the root element by name (the first of a repeated name wins), their CDATA or
   * text; a child that holds elements of its own keeps its inner markup as text. Null when the
   * input is not of that shape, e.g. a CDATA section that never ends.
   */
  static Map<String, String> children(String xml) {
    int i = skipProlog(xml, 0);
    int rootEnd = tagEnd(xml, i);
    if (rootEnd < 0) {
      return null;
    }
    String root = xml.substring(i + 1, rootEnd);
    String rootClose = "</" + root + ">";
    i = rootEnd + 1;
    Map<String, String> out = new LinkedHashMap<>();
    while (true) {
      i = skipSpace(xml, i);
      if (xml.startsWith(rootClose, i)) {
        return out;
      }
      int nameEnd = tagEnd(xml, i);
      if (nameEnd < 0) {
        return null;
      }
      String name = xml.substring(i + 1, nameEnd);
      String close = "</" + name + ">";
      int start = nameEnd + 1;
      String value;
      int next;
      if (xml.startsWith(CDATA_OPEN, start)) {
        int end = xml.indexOf(CDATA_CLOSE, start + CDATA_OPEN.length());
        if (end < 0) {
          return null;
        }
        value = xml.substring(start + CDATA_OPEN.length(), end);
        next = end + CDATA_CLOSE.length();
        if (!xml.startsWith(close, next)) {
          // WeCom closes an element right after its CDATA. Looking for the close tag from the
          // start would search inside the CDATA again, and a body of repeated unclosed sections
          // would cost one scan to its end per section: quadratic in its length
          return null;
        }
      } else {
        int lt = xml.indexOf('<', start);
        if (lt < 0) {
          return null;
        }
        value = unescape(xml.substring(start, lt));
        next = lt;
      }
      if (!xml.startsWith(close, next)) {
        // an element with elements inside (some event types): keep its markup, go on after it
        int end = xml.indexOf(close, start);
        if (end < 0) {
          return null;
        }
        value = xml.substring(start, end);
        next = end;
      }
      out.putIfAbsent(name, value);
      i = next + close.length();
    }
  }

  /** One child of the root, or null when absent or when the input is not flat XML. */
  static String child(String xml, String name) {
    Map<String, String> all = children(xml);
    return all == null ? null : all.get(name);
  }

  /** Skips whitespace and an {@code <?xml ...?>} declaration. */
  private static int skipProlog(String xml, int i) {
    i = skipSpace(xml, i);
    if (xml.startsWith("<?", i)) {
      int end = xml.indexOf("?>", i + 2);
      i = end < 0 ? xml.length() : skipSpace(xml, end + 2);
    }
    return i;
  }

  /**
   * The index of the {@code >} of a start tag {@code <Name>} at {@code i}, or -1: names are
   * letters, digits and underscores, and WeCom puts no attributes on its elements.
   */
  private static int tagEnd(String xml, int i) {
    if (i >= xml.length() || xml.charAt(i) != '<') {
      return -1;
    }
    int j = i + 1;
    while (j < xml.length() && j - i <= 64) {
      char c = xml.charAt(j);
      if (c == '>') {
        return j > i + 1 ? j : -1;
      }
      if (!(Character.isLetterOrDigit(c) || c == '_')) {
        return -1;
      }
      j++;
    }
    return -1;
  }

  private static int skipSpace(String xml, int i) {
    while (i < xml.length() && Character.isWhitespace(xml.charAt(i))) {
      i++;
    }
    return i;
  }

  /** The five predefined entities; WeCom sends text in CDATA, numbers bare. */
  private static String unescape(String text) {
    if (text.indexOf('&') < 0) {
      return text;
    }
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&apos;", "'").replace("&amp;", "&");
  }
}
