package dev.switchboard.doctor;

import dev.switchboard.channel.Bodies;
import dev.switchboard.config.ConfigNode;
import dev.switchboard.model.GroupSettings;
import dev.switchboard.model.ModelSettings;
import dev.switchboard.model.ProviderSettings;
import dev.switchboard.model.spi.ModelProvider;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonObject;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeoutException;

/**
 * Each provider's model list, asked for with each of its real keys as a call would send them
 * ({@link ProviderSettings#requestOptions}): the cheapest request that proves endpoint and key, and
 * says which of the configured model names the upstream really serves.
 */
final class ProviderCheck {

  private static final int SHOWN = 8;

  private final HttpClient client;
  /** Where every request is made ({@link Doctor#onContext}). */
  private final io.vertx.core.Context context;
  private final ModelSettings models;
  private final ConfigNode raw;
  private final long timeoutMs;

  ProviderCheck(HttpClient client, io.vertx.core.Context context, ModelSettings models, ConfigNode raw, long timeoutMs) {
    this.client = client;
    this.context = context;
    this.models = models;
    this.raw = raw;
    this.timeoutMs = timeoutMs;
  }

  Finding check(ProviderSettings p) {
    String subject = "provider " + p.name();
    ConfigNode rawEntry = Where.entry(raw, "providers", p.name());
    if (!p.enabled()) {
      String fix = p.missingVariables().isEmpty() ? "set endpoint and auth of " + rawEntry.path() + " in " + raw.file()
          : "set " + String.join(" and ", p.missingVariables()) + " (" + rawEntry.path() + " in " + raw.file() + ")";
      return Finding.fail(subject, "off: " + p.offReason(), fix);
    }
    // health_check.probe completion is for upstreams that list no models: ask them what the gateway asks
    boolean completion = "completion".equals(p.probe());
    ModelProvider.Request request = completion ? p.protocol().probe(p.probe(), p.probeModel()) : p.protocol().listModels();
    List<String> keys = p.keys().isEmpty() ? java.util.Collections.singletonList(null) : p.keys();
    String url = Where.redacted(p.endpoint() + request.path());
    String call = request.method() + " " + url;
    List<String> served = null;
    for (int i = 0; i < keys.size(); i++) {
      String which = keys.size() > 1 ? "key " + (i + 1) + " of " + keys.size() : "the key";
      Answer a;
      try {
        a = get(p, request, keys.get(i));
      } catch (Exception e) {
        if (e instanceof Bodies.TooLarge || e.getCause() instanceof Bodies.TooLarge) {
          // a model list is kilobytes: this is not the provider's API (or not a sane one)
          return Finding.fail(subject, call + " answered more than " + Bodies.describe(Bodies.MAX_ANSWER_BYTES) + "; not read",
              "set " + Where.of(rawEntry.get("endpoint")) + " to the provider's API base URL (…/v1)");
        }
        return unreachable(subject, call, e, rawEntry);
      }
      if (a.status == 401 || a.status == 403) {
        return Finding.fail(subject, which + " is refused (" + a.status + " from " + call + ")",
            "set " + Where.of(keyNodes(rawEntry)) + " to a key this provider accepts");
      }
      if (a.status == 404 && completion) {
        return Finding.fail(subject, call + " with model " + p.probeModel() + " is 404: the endpoint or the model is wrong",
            "set " + Where.of(rawEntry.get("endpoint")) + " to the base URL including its version, or "
                + Where.of(rawEntry.get("health_check").get("model")) + " to a model it serves");
      }
      if (a.status == 404) {
        return Finding.fail(subject, call + " is 404: the endpoint is not the API's base path",
            "set " + Where.of(rawEntry.get("endpoint")) + " to the base URL including its version, e.g. https://api.deepseek.com/v1");
      }
      if (a.status != 200) {
        return Finding.fail(subject, call + " answered " + a.status + ": " + Doctor.clip(masked(a.body.toString(), p.keys()), 120),
            "check the provider's status, and " + Where.of(rawEntry.get("endpoint")));
      }
      if (completion) {
        continue;
      }
      if (served == null) {
        try {
          served = ids(p.protocol(), a.body);
        } catch (RuntimeException e) {
          return Finding.fail(subject, "GET " + url + " answered 200 but not with a model list",
              "set " + Where.of(rawEntry.get("endpoint")) + " to the OpenAI-compatible base URL (…/v1)");
        }
      }
    }
    if (completion) {
      String accepted = keys.size() > 1 ? "all " + keys.size() + " keys accepted" : p.keys().isEmpty() ? "no key" : "key accepted";
      return Finding.ok(subject, call + " 200 with model " + p.probeModel() + " (health_check.probe completion), "
          + accepted + "; the model list is not asked");
    }
    return served(subject, p, url, keys.size(), served);
  }

  /** An upstream's answer as it may be printed: some quote the key they refused. */
  private static String masked(String body, List<String> keys) {
    String out = body;
    for (String k : keys) {
      if (k != null && !k.isEmpty()) {
        out = out.replace(k, "***");
      }
    }
    return out;
  }

  /** auth.key and auth.keys, as far as they are written. */
  private static ConfigNode[] keyNodes(ConfigNode rawEntry) {
    ConfigNode auth = rawEntry.get("auth");
    ConfigNode[] set = java.util.stream.Stream.of(auth.get("key"), auth.get("keys")).filter(n -> !n.isMissing()).toArray(ConfigNode[]::new);
    return set.length == 0 ? new ConfigNode[] {auth} : set;
  }

  /** The names clients may reach this provider by: its own list, the groups' deployments of it, the default model. */
  private Set<String> configured(ProviderSettings p) {
    Set<String> names = new LinkedHashSet<>();
    p.models().stream().filter(m -> !"*".equals(m)).forEach(names::add);
    for (GroupSettings g : models.groups()) {
      g.deployments().stream().filter(d -> d.provider().equals(p.name())).forEach(d -> names.add(d.model()));
    }
    if (models.defaultModel() != null && !models.defaultModel().isEmpty() && p.serves(models.defaultModel())
        && models.groups().stream().noneMatch(g -> g.name().equals(models.defaultModel()))) {
      names.add(models.defaultModel());
    }
    return names;
  }

  private Finding served(String subject, ProviderSettings p, String url, int keyCount, List<String> served) {
    String keys = keyCount > 1 ? "all " + keyCount + " keys accepted" : p.keys().isEmpty() ? "no key" : "key accepted";
    String list = served.isEmpty() ? "lists no models"
        : "serves " + String.join(", ", served.subList(0, Math.min(SHOWN, served.size())))
            + (served.size() > SHOWN ? " and " + (served.size() - SHOWN) + " more" : "");
    Set<String> configured = configured(p);
    List<String> missing = new ArrayList<>(configured);
    missing.removeAll(served);
    String text = "GET " + url + " 200, " + keys + ", " + list;
    if (configured.isEmpty()) {
      return Finding.ok(subject, text + " (passes any model name through)");
    }
    if (missing.isEmpty()) {
      return Finding.ok(subject, text + "; configured " + String.join(", ", configured) + ": all served");
    }
    // some upstreams serve names they do not list (aliases, fine-tunes): a warning, not a failure
    return Finding.warn(subject, text + "; configured but not listed: " + String.join(", ", missing),
        "check the model names in " + raw.file() + " (models of provider '" + p.name() + "', groups' deployments, default_model)");
  }

  private Finding unreachable(String subject, String call, Exception e, ConfigNode rawEntry) {
    Throwable cause = e.getCause() != null && !(e instanceof TimeoutException) ? e.getCause() : e;
    String why = cause instanceof TimeoutException ? "no answer within " + timeoutMs / 1000 + " s"
        : cause instanceof ConnectException ? "connection refused (" + Doctor.message(cause) + ")"
        : Doctor.message(cause);
    return Finding.fail(subject, call + ": " + why,
        "check that the provider runs and is reachable from here, and " + Where.of(rawEntry.get("endpoint")));
  }

  private record Answer(int status, Buffer body) {
  }

  private Answer get(ProviderSettings p, ModelProvider.Request request, String key) throws Exception {
    return Doctor.onContext(context, () -> client
        .request(p.requestOptions(request, key).setConnectTimeout(timeoutMs).setIdleTimeout(timeoutMs))
        .compose(r -> request.body() == null ? r.send() : r.send(request.body()))
        // bounded: an endpoint that answers without end must be a finding, not fill the heap
        .compose(r -> Bodies.read(r, Bodies.MAX_ANSWER_BYTES, "the answer").map(b -> new Answer(r.statusCode(), b))),
        timeoutMs + 1000);
  }

  private static List<String> ids(ModelProvider protocol, Buffer body) {
    List<String> ids = new ArrayList<>();
    for (Object o : protocol.models(body)) {
      if (o instanceof JsonObject m && m.getValue("id") instanceof String id && !id.isEmpty()) {
        ids.add(id);
      }
    }
    return ids;
  }
}
