package dev.switchboard.observe;

import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Run by {@link JvmDefaultsTest} in a JVM of its own, started with the flags under test, so that
 * what {@link JvmDefaults#apply()} changes is a real JVM's flags and not those of the test JVM.
 * Prints {@code outcome <Outcome>}, then {@code flag <name>=<value> <origin>} for each flag
 * involved, and every record logged at WARNING or above as {@code warning <message>}. With the
 * argument {@code idle} (or {@code periodic}) it then waits up to 20 s for the trim after an idle
 * collection (or the periodic one) and prints {@code trimmed <message>} when it comes.
 */
public final class JvmDefaultsProbe {

  private JvmDefaultsProbe() {
  }

  public static void main(String[] args) throws Exception {
    CountDownLatch trimmed = new CountDownLatch(1);
    Logger root = Logger.getLogger("");
    Logger.getLogger(JvmDefaults.class.getName()).setLevel(Level.FINE);
    root.addHandler(new Handler() {
      @Override
      public void publish(LogRecord record) {
        String message = record.getMessage();
        if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
          System.out.println("warning " + message);
        } else if (message != null && message.startsWith("after an idle collection")) {
          System.out.println("trimmed " + message.replace('\n', ' '));
          trimmed.countDown();
        } else if (message != null && message.startsWith("periodic trim")) {
          System.out.println("trimmed " + message.replace('\n', ' '));
          trimmed.countDown();
        }
      }

      @Override
      public void flush() {
      }

      @Override
      public void close() {
      }
    });
    System.out.println("outcome " + JvmDefaults.apply());
    HotSpotDiagnosticMXBean vm = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
    for (String name : new String[] {JvmDefaults.MIN_HEAP_FREE_RATIO, JvmDefaults.MAX_HEAP_FREE_RATIO,
        JvmDefaults.PERIODIC_GC_INTERVAL}) {
      System.out.println("flag " + name + "=" + vm.getVMOption(name).getValue() + " " + vm.getVMOption(name).getOrigin());
    }
    if (args.length > 0 && ("idle".equals(args[0]) || "periodic".equals(args[0]))) {
      trimmed.await(20, TimeUnit.SECONDS);
    }
    System.out.flush();
  }
}
