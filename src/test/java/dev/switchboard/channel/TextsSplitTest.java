package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Long texts split into messages at platform limits, counted in UTF-8 bytes. */
@DisplayName("Text splitting")
class TextsSplitTest {

  private static int bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** Every part within the limit, and nothing but the boundary line breaks lost. */
  private static void assertWhole(String text, List<String> parts, int max) {
    parts.forEach(p -> assertTrue(bytes(p) <= max, "part of " + bytes(p) + " bytes over " + max));
    assertEquals(text.replaceAll("\\s", ""), String.join("", parts).replaceAll("\\s", ""));
  }

  @Test
  @DisplayName("a text within the limit is one part, unchanged")
  void fitsUnchanged() {
    assertEquals(List.of("hello\n\n"), Texts.split("hello\n\n", 100));
  }

  @Test
  @DisplayName("parts end at blank lines when one leaves the part at least half full")
  void paragraphs() {
    String a = "a".repeat(60);
    String b = "b".repeat(60);
    String c = "c".repeat(30);
    assertEquals(List.of(a, b + "\n\n" + c), Texts.split(a + "\n\n" + b + "\n\n" + c, 100));
  }

  @Test
  @DisplayName("without blank lines, parts end at line breaks")
  void lines() {
    String text = "x".repeat(70) + "\n" + "y".repeat(70) + "\n" + "z".repeat(10);
    assertEquals(List.of("x".repeat(70), "y".repeat(70) + "\n" + "z".repeat(10)), Texts.split(text, 100));
  }

  @Test
  @DisplayName("a long line is cut at a space, else at the limit")
  void wordsThenCharacters() {
    String words = "word ".repeat(50).trim();
    List<String> parts = Texts.split(words, 32);
    parts.forEach(p -> assertTrue(p.endsWith("word"), p));
    assertWhole(words, parts, 32);
    List<String> solid = Texts.split("q".repeat(250), 100);
    assertEquals(List.of("q".repeat(100), "q".repeat(100), "q".repeat(50)), solid);
  }

  @Test
  @DisplayName("Chinese text is cut between characters, never inside a 3-byte UTF-8 sequence")
  void utf8Boundaries() {
    String text = "汉".repeat(1000); // 3000 bytes
    List<String> parts = Texts.split(text, 2048);
    assertEquals(List.of("汉".repeat(682), "汉".repeat(318)), parts);
    assertWhole(text, parts, 2048);
  }

  @Test
  @DisplayName("emoji (surrogate pairs, 4 UTF-8 bytes) are never split")
  void surrogatePairs() {
    String text = "a" + "😀".repeat(30);
    List<String> parts = Texts.split(text, 10);
    for (String p : parts) {
      assertTrue(!Character.isHighSurrogate(p.charAt(p.length() - 1)) && !Character.isLowSurrogate(p.charAt(0)), p);
      assertTrue(bytes(p) <= 10);
    }
    assertEquals(text, String.join("", parts));
  }

  @Test
  @DisplayName("the template's own bytes are left room for in every part")
  void templateCounted() {
    List<String> parts = Texts.parts("z".repeat(300), "结果：{result}", 200, 0);
    parts.forEach(p -> assertTrue(bytes("结果：" + p) <= 200, bytes("结果：" + p) + " bytes"));
    assertEquals(2, parts.size());
  }
}
