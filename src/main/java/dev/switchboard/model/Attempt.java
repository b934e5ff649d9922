package dev.switchboard.model;

/** One request in flight to one deployment. */
interface Attempt {

  /** The client went away: stop and free the connection. */
  void cancel();

  /** Backpressure from a slow client (streams only). */
  default void pause() {
  }

  default void resume() {
  }
}
