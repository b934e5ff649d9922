package dev.switchboard.audit;

import dev.switchboard.Settings;
import io.vertx.core.Vertx;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.concurrent.TimeUnit;

/**
 * {@code java -jar switchboard.jar audit verify}: walks the chain of the configured profile's
 * store (the file in the data dir, or PostgreSQL) and says whether it holds. It only reads, so it
 * may run beside a gateway that is appending. Exit 0: intact; 1: broken (the first broken record
 * is named); 2: a wrong command; 3: the store could not be read.
 */
public final class AuditCommand {

  public static final int INTACT = 0;
  public static final int BROKEN = 1;
  public static final int USAGE = 2;
  public static final int UNREADABLE = 3;

  private AuditCommand() {
  }

  public static int run(String[] args, Settings settings, PrintStream out, PrintStream err) {
    if (args.length != 2 || !"verify".equals(args[1])) {
      err.println("usage: audit verify");
      return USAGE;
    }
    Vertx vertx = Vertx.vertx();
    AuditLog store = AuditVerticle.store(vertx, settings.storageProfile(), settings.dataDir(), settings.storage().postgresUrl());
    try {
      AuditLog.Verification v = store.verify().await(10, TimeUnit.MINUTES);
      (v.intact() ? out : err).println(v.describe());
      long spooled = Files.exists(settings.dataDir().resolve(AuditSpool.FILE))
          ? new AuditSpool(settings.dataDir()).size() : 0;
      if (spooled > 0) {
        out.println(spooled + " events wait in " + settings.dataDir().resolve(AuditSpool.FILE)
            + " for the store (not chained yet)");
      }
      return v.intact() ? INTACT : BROKEN;
    } catch (Exception e) {
      err.println("cannot read the audit store: " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
      return UNREADABLE;
    } finally {
      try {
        store.close().await(5, TimeUnit.SECONDS);
        vertx.close().await(5, TimeUnit.SECONDS);
      } catch (Exception ignored) {
        // exiting anyway
      }
    }
  }
}
