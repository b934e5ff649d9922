package dev.switchboard.doctor;

import dev.switchboard.config.ConfigNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Where an operator changes a value, read from the file as written (variables not substituted): the
 * environment variables it comes from, and the key in its file.
 */
final class Where {

  private static final Pattern VAR = Pattern.compile("\\$\\{([A-Za-z_][A-Za-z0-9_]*)");

  private Where() {
  }

  /** "MODEL_API_KEY (providers[0].auth.key in conf/model_provider.yaml)", or the key alone when no variable feeds it. */
  static String of(ConfigNode... raw) {
    LinkedHashSet<String> vars = new LinkedHashSet<>();
    List<String> keys = new ArrayList<>();
    String file = raw.length == 0 ? "" : raw[0].file();
    for (ConfigNode node : raw) {
      keys.add(node.path());
      Object value = node.isMissing() ? null : node.raw();
      Matcher m = VAR.matcher(value == null ? "" : String.valueOf(value));
      while (m.find()) {
        vars.add(m.group(1));
      }
    }
    String where = String.join(", ", keys) + " in " + file;
    return vars.isEmpty() ? where : String.join(" / ", vars) + " (" + where + ")";
  }

  /** The entry of a list section ({@code providers}, {@code dingtalk}) whose {@code name} is {@code name}. */
  static ConfigNode entry(ConfigNode rawRoot, String section, String name) {
    Optional<ConfigNode> found = rawRoot.get(section).list().stream()
        .filter(n -> name.equals(n.get("name").string(""))).findFirst();
    return found.orElse(rawRoot.get(section));
  }

  /** A URL as it may be shown: scheme, host, port and path; no user info or query (which may hold a key). */
  static String redacted(String url) {
    try {
      java.net.URI u = java.net.URI.create(url);
      if (u.getHost() != null) {
        return u.getScheme() + "://" + u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "") + (u.getPath() == null ? "" : u.getPath());
      }
    } catch (IllegalArgumentException e) {
      // not a URI at all: cut it by hand below
    }
    // no host java.net.URI can read (a port that is no number): the text, without user info and query
    return url.replaceFirst("^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@", "$1").replaceFirst("[?#].*$", "");
  }
}
