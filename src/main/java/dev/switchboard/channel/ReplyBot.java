package dev.switchboard.channel;

/**
 * A reply in a conversation through an app bot: the app's settings decide its name, whether it is
 * on, and how it is paced, so the reply only says how to reach the conversation.
 */
interface ReplyBot extends Bot {

  /** What replies need of an app bot's settings. */
  interface App {
    String name();

    String offReason();

    RateLimit rateLimit();

    Retry retry();
  }

  App app();

  @Override
  default String name() {
    return app().name();
  }

  @Override
  default String offReason() {
    return app().offReason();
  }

  @Override
  default RateLimit rateLimit() {
    return app().rateLimit();
  }

  @Override
  default Retry retry() {
    return app().retry();
  }
}
