package dev.switchboard.config;

/**
 * A setting that cannot be used. Its message is the one line an operator sees at start-up:
 * file, key, and what is wrong.
 */
public final class ConfigError extends RuntimeException {

  private final String file;
  private final String key;
  private final String problem;

  public ConfigError(String file, String key, String problem) {
    super(file + ": " + (key.isEmpty() ? "" : key + ": ") + problem);
    this.file = file;
    this.key = key;
    this.problem = problem;
  }

  public String file() {
    return file;
  }

  public String key() {
    return key;
  }

  public String problem() {
    return problem;
  }
}
