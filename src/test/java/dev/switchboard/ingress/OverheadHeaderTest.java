package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("x-switchboard-overhead-ms is milliseconds with three decimals, as String.format(\"%.3f\") wrote it")
class OverheadHeaderTest {

  @Test
  @DisplayName("nanoseconds are rounded half up to the microsecond, with the fraction zero-padded")
  void formatsLikeThreeDecimals() {
    for (long nanos : new long[] {0, 499, 500, 1_000, 9_999, 10_000, 99_500, 1_234_567, 1_234_500, 1_999_999_999,
        45_006_000, 123_456_789_012L}) {
      assertEquals(String.format(java.util.Locale.ROOT, "%.3f", nanos / 1e6), HttpIngressVerticle.millis(nanos),
          nanos + " ns");
    }
  }
}
