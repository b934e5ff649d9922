package dev.switchboard.observe;

import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.HotSpotDiagnosticMXBean;
import com.sun.management.VMOption;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;
import javax.management.MBeanOperationInfo;
import javax.management.MBeanServer;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

/**
 * Heap and GC settings for a plain {@code java -jar switchboard.jar}, set from inside the process
 * because a jar's manifest cannot carry JVM options.
 *
 * <p>On a machine with two or more CPUs and 1792 MB or more the JVM picks G1 with a maximum heap
 * of a quarter of the RAM and keeps what a burst made it commit: after bad input a gateway with
 * 44 MB of live objects held 1.28 GB. These are the JVM's manageable flags, so they can be changed
 * at run time:
 * <ul>
 *   <li>{@code MinHeapFreeRatio=10}, {@code MaxHeapFreeRatio=30} (JVM defaults 40/70): after a
 *       collection that sizes the heap, at most 30% of it stays free, so it shrinks back after a
 *       burst. G1 and Serial read them; G1 grows the heap under load by its GC-time goal, not by
 *       these, so throughput is not traded away;</li>
 *   <li>{@code G1PeriodicGCInterval=15000} (JVM default 0: never): a G1 process that has not
 *       collected for 15 s runs a concurrent cycle, whose remark shrinks the heap and returns the
 *       memory, so an idle gateway does not sit on its peak. G1 looks once per interval, so the
 *       memory comes back 15 to 30 s after the last request (at 30 s, a 45 s idle run was seen
 *       to miss it); a cycle over the small idle heap costs a few milliseconds of CPU;</li>
 *   <li>a few seconds after such an idle collection, {@code System.trim_native_heap} (JDK 17.0.9
 *       and later; skipped when missing): glibc keeps freed C heap (Netty's buffers, thread
 *       arenas) mapped until asked to give it back;</li>
 *   <li>the same trim every 5 s whatever the collector, under load too (what JDK 21's
 *       {@code -XX:TrimNativeHeapInterval} does, which a jar cannot set): the compiler's arenas,
 *       the tokenizer's and ONNX Runtime's buffers and the per-thread malloc arenas leave freed
 *       C heap behind that glibc would keep; a trim gave back 10 MB after start-up and 17 to
 *       22 MB under 64 streams, which grow back within seconds, so it lowers the steady RSS
 *       more than the peak (steady 247/252/265 MB at 2/5/10 s, one noisy run each). A trim
 *       walks the malloc arenas on its own daemon thread; no throughput loss showed at 5 s.
 *       {@code -Dswitchboard.jvm.trim_interval=0} turns it off, or sets the seconds.</li>
 * </ul>
 * A flag set by the user in any way (command line, {@code JDK_JAVA_OPTIONS},
 * {@code JAVA_TOOL_OPTIONS}, a flags file) is left as it is: only a flag whose origin is still the
 * JVM's default is changed. {@code -Dswitchboard.jvm.defaults=false} turns all of it off. None of
 * this may stop the gateway: a flag the JVM refuses, or a JVM without these beans, is logged at
 * FINE and skipped.
 */
public final class JvmDefaults {

  /** The system property that turns these defaults off when it is {@code false}. */
  public static final String PROPERTY = "switchboard.jvm.defaults";
  static final String MIN_HEAP_FREE_RATIO = "MinHeapFreeRatio";
  static final String MAX_HEAP_FREE_RATIO = "MaxHeapFreeRatio";
  static final String PERIODIC_GC_INTERVAL = "G1PeriodicGCInterval";
  static final long MIN_FREE_PERCENT = 10;
  static final long MAX_FREE_PERCENT = 30;
  static final long PERIODIC_GC_MILLIS = 15_000;
  /** G1's cause for a collection started by {@code G1PeriodicGCInterval}. */
  static final String PERIODIC_CAUSE = "G1 Periodic Collection";
  /** The idle collection's young pause comes first; its remark, which uncommits, follows within seconds. */
  static final long TRIM_DELAY_SECONDS = 5;
  static final String TRIM_OPERATION = "systemTrimNativeHeap";
  /** Seconds between trims of the C heap under any load; 0 turns them off. */
  public static final String TRIM_INTERVAL_PROPERTY = "switchboard.jvm.trim_interval";
  static final long TRIM_INTERVAL_SECONDS = 5;
  /** Longer than this is a typo for milliseconds, or no trimming wanted; either way not what was meant. */
  static final long MAX_TRIM_INTERVAL_SECONDS = 86_400;

  private static final Logger LOG = Logger.getLogger(JvmDefaults.class.getName());
  private static final AtomicBoolean TRIM_INSTALLED = new AtomicBoolean();

  /**
   * What {@link #apply()} did: the flags it set (name to value), the ones it left because the user
   * had set them (name to the user's value), and whether it arranged to trim the C heap when idle.
   */
  public record Outcome(Map<String, String> set, Map<String, String> kept, boolean trimsNativeHeap,
                        long trimIntervalSeconds) {
    public static final Outcome OFF = new Outcome(Map.of(), Map.of(), false, 0);

    public Outcome {
      set = Map.copyOf(set);
      kept = Map.copyOf(kept);
    }
  }

  private JvmDefaults() {
  }

  /** Applies the defaults unless {@code -Dswitchboard.jvm.defaults=false}; never throws. */
  public static Outcome apply() {
    if ("false".equalsIgnoreCase(System.getProperty(PROPERTY, "").trim())) {
      LOG.fine(() -> "JVM defaults off (-D" + PROPERTY + "=false)");
      return Outcome.OFF;
    }
    try {
      return applyTo(ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class));
    } catch (RuntimeException | LinkageError e) {
      // not HotSpot, or management left out of the runtime image
      LOG.log(Level.FINE, "JVM defaults not applied", e);
      return Outcome.OFF;
    }
  }

  private static Outcome applyTo(HotSpotDiagnosticMXBean vm) {
    Map<String, String> set = new LinkedHashMap<>();
    Map<String, String> kept = new LinkedHashMap<>();
    boolean g1 = flagIsTrue(vm, "UseG1GC");
    if (g1 || flagIsTrue(vm, "UseSerialGC")) {
      // Min before Max: the JVM refuses a MaxHeapFreeRatio below the MinHeapFreeRatio in force (40)
      setIfDefault(vm, MIN_HEAP_FREE_RATIO, MIN_FREE_PERCENT, set, kept);
      setIfDefault(vm, MAX_HEAP_FREE_RATIO, MAX_FREE_PERCENT, set, kept);
    }
    if (g1) {
      setIfDefault(vm, PERIODIC_GC_INTERVAL, PERIODIC_GC_MILLIS, set, kept);
    }
    // trimming rides on the idle collections, whoever asked for them
    boolean afterIdle = g1 && periodicGcOn(vm);
    long interval = trimInterval(System.getProperty(TRIM_INTERVAL_PROPERTY));
    boolean trims = (afterIdle || interval > 0) && installTrims(afterIdle, interval);
    Outcome outcome = new Outcome(set, kept, trims, trims ? interval : 0);
    LOG.fine(() -> "JVM defaults: set " + outcome.set() + ", kept as given " + outcome.kept()
        + (outcome.trimsNativeHeap() ? ", native heap trimmed" + (afterIdle ? " after idle collections" : "")
            + (outcome.trimIntervalSeconds() > 0 ? " every " + outcome.trimIntervalSeconds() + " s" : "") : ""));
    return outcome;
  }

  /**
   * The seconds between trims from {@code -Dswitchboard.jvm.trim_interval}: unset or blank, the
   * default; 0, none; anything else that is not a whole number of seconds up to a day is said once
   * and the default kept (a property cannot stop the gateway).
   */
  static long trimInterval(String value) {
    if (value == null || value.isBlank()) {
      return TRIM_INTERVAL_SECONDS;
    }
    try {
      long seconds = Long.parseLong(value.trim());
      if (seconds >= 0 && seconds <= MAX_TRIM_INTERVAL_SECONDS) {
        return seconds;
      }
    } catch (NumberFormatException e) {
      // said below
    }
    LOG.warning("-D" + TRIM_INTERVAL_PROPERTY + "=" + value + ": not whole seconds from 0 (off) to "
        + MAX_TRIM_INTERVAL_SECONDS + "; trimming every " + TRIM_INTERVAL_SECONDS + " s");
    return TRIM_INTERVAL_SECONDS;
  }

  private static boolean flagIsTrue(HotSpotDiagnosticMXBean vm, String name) {
    try {
      return "true".equals(vm.getVMOption(name).getValue());
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static boolean periodicGcOn(HotSpotDiagnosticMXBean vm) {
    try {
      return Long.parseLong(vm.getVMOption(PERIODIC_GC_INTERVAL).getValue()) > 0;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  private static void setIfDefault(HotSpotDiagnosticMXBean vm, String name, long value, Map<String, String> set,
      Map<String, String> kept) {
    try {
      VMOption option = vm.getVMOption(name);
      if (option.getOrigin() != VMOption.Origin.DEFAULT) {
        kept.put(name, option.getValue());
        return;
      }
      vm.setVMOption(name, Long.toString(value));
      set.put(name, Long.toString(value));
    } catch (IllegalArgumentException | SecurityException e) {
      // unknown or not writable here (another JDK), or refused against a ratio the user chose
      LOG.log(Level.FINE, "JVM flag " + name + " left as it is: " + e.getMessage());
    }
  }

  /**
   * Trims the C heap every {@code interval} seconds (0: never) and, with {@code afterIdle}, a few
   * seconds after each of G1's idle collections, on one daemon thread (a trim walks all malloc
   * arenas; it is not for a notification thread). False when the JVM has no
   * {@code System.trim_native_heap}.
   */
  private static boolean installTrims(boolean afterIdle, long interval) {
    MBeanServer server = ManagementFactory.getPlatformMBeanServer();
    ObjectName diagnostics;
    String[] signature;
    try {
      diagnostics = new ObjectName("com.sun.management:type=DiagnosticCommand");
      signature = trimSignature(server, diagnostics);
    } catch (Exception e) {
      LOG.log(Level.FINE, "no DiagnosticCommand MBean: native heap not trimmed", e);
      return false;
    }
    if (signature == null) {
      LOG.fine("this JVM has no System.trim_native_heap (JDK 17.0.9 and later): native heap not trimmed");
      return false;
    }
    if (!TRIM_INSTALLED.compareAndSet(false, true)) {
      return true;
    }
    ScheduledExecutorService trimmer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "switchboard-trim-native-heap");
      t.setDaemon(true);
      return t;
    });
    AtomicBoolean pending = new AtomicBoolean();
    Object[] arguments = signature.length == 0 ? new Object[0] : new Object[] {new String[0]};
    Runnable trim = () -> {
      pending.set(false);
      try {
        Object result = server.invoke(diagnostics, TRIM_OPERATION, arguments, signature);
        LOG.fine(() -> "after an idle collection: " + String.valueOf(result).trim());
      } catch (Exception e) {
        LOG.log(Level.FINE, "native heap trim failed", e);
      }
    };
    if (interval > 0) {
      // on the same thread as the idle trims, so two never run at once
      trimmer.scheduleWithFixedDelay(() -> {
        try {
          Object result = server.invoke(diagnostics, TRIM_OPERATION, arguments, signature);
          LOG.fine(() -> "periodic trim: " + String.valueOf(result).trim());
        } catch (Exception e) {
          LOG.log(Level.FINE, "native heap trim failed", e);
        }
      }, interval, interval, TimeUnit.SECONDS);
    }
    for (GarbageCollectorMXBean gc : afterIdle ? ManagementFactory.getGarbageCollectorMXBeans()
        : List.<GarbageCollectorMXBean>of()) {
      if (gc instanceof NotificationEmitter emitter) {
        emitter.addNotificationListener((Notification n, Object handback) -> {
          if (isPeriodicCollection(n) && pending.compareAndSet(false, true)) {
            trimmer.schedule(trim, TRIM_DELAY_SECONDS, TimeUnit.SECONDS);
          }
        }, null, null);
      }
    }
    return true;
  }

  private static boolean isPeriodicCollection(Notification n) {
    if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())
        || !(n.getUserData() instanceof CompositeData data)) {
      return false;
    }
    return PERIODIC_CAUSE.equals(GarbageCollectionNotificationInfo.from(data).getGcCause());
  }

  /** The signature to invoke the trim with (dcmd operations take a String[] or nothing), or null when absent. */
  private static String[] trimSignature(MBeanServer server, ObjectName diagnostics) throws Exception {
    List<String[]> found = new ArrayList<>();
    for (MBeanOperationInfo op : server.getMBeanInfo(diagnostics).getOperations()) {
      if (TRIM_OPERATION.equals(op.getName())) {
        found.add(Arrays.stream(op.getSignature()).map(p -> p.getType()).toArray(String[]::new));
      }
    }
    return found.stream().filter(s -> s.length == 0).findFirst().orElse(found.isEmpty() ? null : found.get(0));
  }
}
