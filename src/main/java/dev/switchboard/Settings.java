package dev.switchboard;

import dev.switchboard.channel.ChannelSettings;
import dev.switchboard.config.ConfigFiles;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.events.EventSettings;
import dev.switchboard.ingress.ServerSettings;
import dev.switchboard.memory.MemorySettings;
import dev.switchboard.memory.MemoryVerticle;
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
    MemoryVerticle.Storage storage,
    QueueSettings queue,
    boolean metrics,
    MemorySettings memory,
    ModelSettings models,
    ChannelSettings channels,
    dev.switchboard.rules.RulesSettings rules,
    EventSettings events,
    dev.switchboard.agent.AgentSettings agent,
    dev.switchboard.plugin.Plugins plugins,
    dev.switchboard.mcp.McpSettings mcp,
    dev.switchboard.security.AccessSettings access,
    dev.switchboard.bridge.BridgeSettings bridge,
    dev.switchboard.security.TokenSettings tokens,
    dev.switchboard.audit.AuditSettings audit,
    dev.switchboard.security.OutboundGuard outbound,
    dev.switchboard.security.RateLimits rateLimits) {

  public static final String FILE = "switchboard.yaml";

  public static Path confDir(Function<String, String> env) {
    String dir = env.apply("SWITCHBOARD_CONF_DIR");
    return Path.of(dir == null || dir.isBlank() ? "conf" : dir);
  }

  public static Settings load(Function<String, String> env) {
    return load(confDir(env), env);
  }

  private static String envOr(Function<String, String> env, String name, String fallback) {
    String value = env.apply(name);
    return value == null || value.isBlank() ? fallback : value;
  }

  public String storageProfile() {
    return storage.profile();
  }

  public Path dataDir() {
    return storage.dataDir();
  }

  public static Settings load(Path confDir, Function<String, String> env) {
    ConfigFiles files = new ConfigFiles(confDir, env);
    ConfigNode root = files.load(FILE, false);
    // every key here has an effect
    root.allowOnly("server", "security", "storage", "queue", "metrics", "memory", "rules", "agent", "plugins", "mcp", "bridge", "audit", "logging");
    // applied by Main before the gateway starts; read here so that a bad value is refused with the rest
    dev.switchboard.observe.LogSettings.from(root.get("logging"), env);

    ConfigNode security = root.get("security");
    security.allowOnly("jwt_secret", "cors", "legacy_tokens", "metrics_token", "jwt_keys", "issuer", "audience", "clock_skew", "outbound", "rate_limits");
    dev.switchboard.security.OutboundGuard outbound = dev.switchboard.security.OutboundGuard.from(security.get("outbound"), env);
    String secret = security.get("jwt_secret").string("");
    if (secret.isEmpty()) {
      secret = env.apply("SWITCHBOARD_JWT_SECRET") == null ? "" : env.apply("SWITCHBOARD_JWT_SECRET");
    }
    if (!secret.isEmpty() && secret.length() < 32) {
      throw security.get("jwt_secret").error("must be at least 32 characters for HS256 (SWITCHBOARD_JWT_SECRET)");
    }

    ConfigNode storage = root.get("storage");
    storage.allowOnly("profile", "data_dir", "redis", "postgres");
    // a file without these keys behaves like the shipped one: the same variables, the same defaults
    String profile = storage.get("profile").string(envOr(env, "SWITCHBOARD_STORAGE", "embedded"));
    if (!"embedded".equals(profile) && !"distributed".equals(profile)) {
      throw storage.get("profile").error("must be embedded or distributed, got '" + profile + "'");
    }
    String envData = env.apply("SWITCHBOARD_DATA_DIR");
    String dataDir = envData != null && !envData.isBlank() ? envData : storage.get("data_dir").string("");
    if (dataDir.isEmpty()) {
      dataDir = "./data";
    }

    ConfigNode metrics = root.get("metrics");
    metrics.allowOnly("enabled");

    // plug-ins first: model_provider.yaml and channels.yaml may name the types they bring
    dev.switchboard.plugin.Plugins plugins = dev.switchboard.plugin.Plugins.load(
        dev.switchboard.plugin.PluginSettings.from(root.get("plugins")), confDir, Path.of(dataDir));
    // read in this order so a broken file is reported as before: models, channels, then the rules that use them
    ModelSettings models = ModelSettings.load(files, plugins.modelProviders(), plugins.offProviderTypes());
    ChannelSettings channels = ChannelSettings.load(files, plugins.channelProviders(), plugins.offChannelSections());
    QueueSettings queue = QueueSettings.from(root.get("queue"));
    ServerSettings server = ServerSettings.from(root.get("server"), security.get("cors"), env);
    Settings settings = new Settings(
        confDir,
        server,
        secret,
        new MemoryVerticle.Storage(profile, Path.of(dataDir),
            storage.get("redis").string(envOr(env, "REDIS_URL", "redis://127.0.0.1:6379")).trim(),
            storage.get("postgres").string(envOr(env, "DATABASE_URL", "postgresql://switchboard@127.0.0.1:5432/switchboard"))),
        queue,
        metrics.get("enabled").bool(true),
        MemorySettings.from(root.get("memory")),
        models,
        channels,
        dev.switchboard.rules.RulesSettings.load(files, channels),
        EventSettings.from(root.get("rules")),
        dev.switchboard.agent.AgentSettings.from(root.get("agent"), queue.taskTimeout()),
        plugins, dev.switchboard.mcp.McpSettings.from(root.get("mcp")),
        dev.switchboard.security.AccessSettings.from(security),
        dev.switchboard.bridge.BridgeSettings.from(root.get("bridge"), new dev.switchboard.bridge.BridgeSettings.Server(
            server.host(), server.port(), server.tls())),
        dev.switchboard.security.TokenSettings.from(security, confDir),
        dev.switchboard.audit.AuditSettings.from(root.get("audit")),
        outbound,
        dev.switchboard.security.RateLimits.from(security.get("rate_limits")));
    // every URL the configuration makes the gateway call, checked once the files are known good, so a refused one names its key
    outbound.checkConfiguredUrls(files.load(ModelSettings.FILE, false), java.util.Set.of("endpoint"));
    outbound.checkConfiguredUrls(files.load(ChannelSettings.FILE, false),
        java.util.Set.of("webhook", "url", "api_base", "domain", "session_webhook_hosts"));
    outbound.checkConfiguredUrls(root.get("mcp"), java.util.Set.of("url"));
    return settings;
  }
}
