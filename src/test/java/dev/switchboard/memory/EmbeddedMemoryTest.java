package dev.switchboard.memory;

import dev.switchboard.testing.TestGateway;
import org.junit.jupiter.api.DisplayName;

/** The memory behaviours on the embedded profile: SQLite under the data dir and a Lucene index. */
@DisplayName("Memory, embedded profile")
class EmbeddedMemoryTest extends MemoryBehaviour {

  @Override
  TestGateway.Builder profile(TestGateway.Builder builder) {
    return builder.env("SWITCHBOARD_STORAGE", "embedded");
  }
}
