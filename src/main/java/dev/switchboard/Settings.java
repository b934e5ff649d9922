package dev.switchboard;

import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.ingress.ServerSettings;
import dev.switchboard.model.ModelSettings;
import dev.switchboard.task.QueueSettings;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * Everything read from the configuration directory, validated as a whole before anything starts,
 * so that a bad setting stops start-up with one line instead of failing a request later.
 */
public record Settings(
    Path confDir,
    ServerSettings server,
    String jwtSecret,
    String storageProfile,
    Path dataDir,
    QueueSettings queue,
    boolean metrics,
    ModelSettings models,
    ChannelSettings channels) {

  public static final String FILE = "switchboard.yaml";

  public static Path confDir(Function<String, String> env) {
    String dir = env.apply("SWITCHBOARD_CONF_DIR");
    return Path.of(dir == null || dir.isBlank() ? "conf" : dir);
  }

  public static Settings load(Function<String, String> env) {
    return load(confDir(env), env);
  }

  public static Settings load(Path confDir, Function<String, String> env) {
    ConfigFiles files = new ConfigFiles(confDir, env);
    ConfigNode root = files.load(FILE, false);
    root.allowOnly("server", "security", "storage", "queue", "metrics", "memory", "bridge");

    ConfigNode security = root.get("security");
    security.allowOnly("jwt_secret", "cors");
    String secret = security.get("jwt_secret").string("");
    if (secret.isEmpty()) {
      secret = env.apply("SWITCHBOARD_JWT_SECRET") == null ? "" : env.apply("SWITCHBOARD_JWT_SECRET");
    }
    if (!secret.isEmpty() && secret.length() < 32) {
      throw security.get("jwt_secret").error("must be at least 32 characters for HS256 (SWITCHBOARD_JWT_SECRET)");
    }

    ConfigNode storage = root.get("storage");
    storage.allowOnly("profile", "data_dir", "redis", "postgres");
    String profile = storage.get("profile").string("embedded");
    if (!"embedded".equals(profile)) {
      throw storage.get("profile").error("'" + profile + "' is not available in this build yet (supported: embedded)");
    }
    String envData = env.apply("SWITCHBOARD_DATA_DIR");
    String dataDir = envData != null && !envData.isBlank() ? envData : storage.get("data_dir").string("./data");

    ConfigNode metrics = root.get("metrics");
    metrics.allowOnly("enabled");

    return new Settings(
        confDir,
        ServerSettings.from(root.get("server"), env),
        secret,
        profile,
        Path.of(dataDir),
        QueueSettings.from(root.get("queue")),
        metrics.get("enabled").bool(true),
        ModelSettings.load(files),
        ChannelSettings.load(files));
  }
}
