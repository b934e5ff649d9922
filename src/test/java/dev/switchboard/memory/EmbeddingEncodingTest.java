package dev.switchboard.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The {@code base64} encoding of {@code POST /v1/embeddings}, byte for byte as OpenAI writes it. */
@DisplayName("Embedding base64 encoding")
class EmbeddingEncodingTest {

  @Test
  @DisplayName("a vector is base64 of its float32 values in little-endian order, padded")
  void littleEndianFloat32() {
    // 1.0 = 3F800000, -2.0 = C0000000, 0.5 = 3F000000, each written lowest byte first
    assertEquals("AACAPwAAAMAAAAA/", EmbeddingsApi.base64(new float[] {1.0f, -2.0f, 0.5f}));
    // 0.1f = 3DCCCCCD; -0.25 = BE800000; 8 bytes need one '=' of padding
    assertEquals("zczMPQAAgL4=", EmbeddingsApi.base64(new float[] {0.1f, -0.25f}));
  }
}
