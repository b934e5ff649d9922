package dev.switchboard.channel;

import dev.switchboard.config.ConfigNode;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Where a DingTalk {@code sessionWebhook} may point ({@code session_webhook_hosts}). The URL comes
 * in the body of a message whose signature covers only a timestamp, so without this list anyone
 * holding one captured header pair could make the gateway POST the model's answer to any address,
 * internal ones included. An entry is a host name ({@code oapi.dingtalk.com}: https on the default
 * port) or a URL prefix with a scheme ({@code http://127.0.0.1:8080}: that scheme, host and port).
 * Hosts match exactly; subdomains are not implied.
 */
record WebhookHosts(List<Entry> entries) {

  static final List<String> DEFAULT = List.of("oapi.dingtalk.com", "api.dingtalk.com");

  record Entry(String scheme, String host, int port) {
    @Override
    public String toString() {
      return "https".equals(scheme) && port == 443 ? host : scheme + "://" + host + ":" + port;
    }
  }

  static WebhookHosts of(List<String> hosts) {
    List<Entry> entries = new ArrayList<>();
    for (String h : hosts) {
      Entry e = parse(h);
      if (e == null) {
        throw new IllegalArgumentException("'" + h + "' is not a host name or a scheme://host[:port]");
      }
      entries.add(e);
    }
    return new WebhookHosts(List.copyOf(entries));
  }

  static WebhookHosts from(ConfigNode node) {
    if (node.isMissing()) {
      return of(DEFAULT);
    }
    List<String> hosts = node.strings();
    if (hosts.isEmpty()) {
      throw node.error("needs at least one host (default: " + String.join(", ", DEFAULT) + ")");
    }
    try {
      return of(hosts);
    } catch (IllegalArgumentException e) {
      throw node.error(e.getMessage());
    }
  }

  private static Entry parse(String text) {
    String s = text.trim();
    boolean schemed = s.contains("://");
    try {
      URI uri = URI.create(schemed ? s : "https://" + s);
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!scheme.equals("https") && !scheme.equals("http") || uri.getHost() == null || uri.getRawUserInfo() != null
          || uri.getRawQuery() != null || uri.getRawFragment() != null
          || uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")) {
        return null;
      }
      return new Entry(scheme, uri.getHost().toLowerCase(Locale.ROOT), port(uri));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static int port(URI uri) {
    return uri.getPort() >= 0 ? uri.getPort() : "https".equals(uri.getScheme().toLowerCase(Locale.ROOT)) ? 443 : 80;
  }

  /** Null when {@code url} may be posted to; else why not, naming the allowed hosts. */
  String refusal(String url) {
    URI uri;
    try {
      uri = URI.create(url);
    } catch (IllegalArgumentException | NullPointerException e) {
      return "the sessionWebhook is not a URL";
    }
    if (uri.getScheme() == null || uri.getHost() == null || uri.getRawUserInfo() != null) {
      return "the sessionWebhook is not an absolute http(s) URL without user info";
    }
    String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
    String host = uri.getHost().toLowerCase(Locale.ROOT);
    for (Entry e : entries) {
      if (e.scheme().equals(scheme) && e.host().equals(host) && e.port() == port(uri)) {
        return null;
      }
    }
    return "the sessionWebhook " + scheme + "://" + host + (uri.getPort() >= 0 ? ":" + uri.getPort() : "")
        + " is not on a host of session_webhook_hosts (" + String.join(", ", entries.stream().map(Entry::toString).toList()) + ")";
  }
}
