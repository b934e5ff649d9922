package dev.switchboard.schedule;

import io.vertx.core.Future;
import java.time.Instant;
import java.util.List;

/**
 * Where schedules and their firings are kept, shared by every instance of a deployment. Firings are
 * fenced: {@link #fence} raises the store's fence to a new leader's token, and {@link #record}
 * refuses a token below it, so a deposed leader cannot fire once its successor has started; and
 * {@link #record} moves {@code next_fire} only from the value its caller read, so of two callers
 * recording the same firing exactly one succeeds.
 */
public interface ScheduleStore {

  /** Creates what the store needs (tables); idempotent. */
  Future<Void> init();

  /** Every schedule, by rule name. */
  Future<List<ScheduleEntry>> list();

  /** The schedule of {@code rule}, or null. */
  Future<ScheduleEntry> get(String rule);

  /**
   * Replaces the file schedules with {@code entries} (source file). One whose spec is unchanged keeps
   * its next and last firing; a changed or new one takes the entry's {@code nextFire}; file ones not
   * listed are removed. A name held by an API schedule is left to it and reported in the result.
   */
  Future<List<String>> syncFile(List<ScheduleEntry> entries);

  /** Adds an API schedule; false (nothing written) when a schedule of that name exists. */
  Future<Boolean> add(ScheduleEntry entry);

  /** Removes {@code rule}'s schedule if it has that source; false when there was none such. */
  Future<Boolean> delete(String rule, String source);

  /**
   * Raises the fence to {@code token} (never lowers it); true when {@code token} is at least the
   * fence, false when a newer leader has raised it already.
   */
  Future<Boolean> fence(long token);

  /**
   * In one atomic step, when {@code rule}'s next_fire is still {@code expectedNext} and
   * {@code token} is at least the fence and the token of the last recorded firing: sets next_fire
   * to {@code newNext} (null: no more), and, when {@code fired} is not null, last_fire to it, and
   * the entry's token to {@code token}, raising the fence to it. True when it did; false when another firing, another leader
   * or a change of the schedule came first.
   */
  Future<Boolean> record(String rule, Instant expectedNext, Instant fired, Instant newNext, long token);

  Future<Void> close();
}
