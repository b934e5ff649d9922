package dev.switchboard.channel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The embedded profile's sending windows when a reload changes a bot's rate limit. */
@DisplayName("Sending windows in memory")
class LocalWindowsTest {

  static final List<Bot.RateLimit> THREE_A_MINUTE = List.of(new Bot.RateLimit(3, Duration.ofMinutes(1)));
  static final List<Bot.RateLimit> ONE_A_MINUTE = List.of(new Bot.RateLimit(1, Duration.ofMinutes(1)));

  private static long take(RateWindows.Window w) throws Exception {
    return w.take().await(1, TimeUnit.SECONDS);
  }

  @Test
  @DisplayName("the same limits give the same window back")
  void sameLimitsSameWindow() {
    LocalWindows windows = new LocalWindows();
    assertSame(windows.window("dingtalk/default", THREE_A_MINUTE), windows.window("dingtalk/default", THREE_A_MINUTE));
  }

  @Test
  @DisplayName("a lower limit applies at once, counting the messages already sent in the window")
  void newLimitsCountWhatWasSent() throws Exception {
    LocalWindows windows = new LocalWindows();
    RateWindows.Window before = windows.window("dingtalk/default", THREE_A_MINUTE);
    assertEquals(0, take(before));
    assertEquals(0, take(before));

    RateWindows.Window after = windows.window("dingtalk/default", ONE_A_MINUTE);

    assertTrue(take(after) > 0, "a message went although two were sent in the minute and the limit is now one");
  }
}
