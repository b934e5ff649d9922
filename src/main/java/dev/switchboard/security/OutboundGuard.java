package dev.switchboard.security;

import dev.switchboard.config.ConfigError;
import dev.switchboard.config.ConfigNode;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The one check every URL the gateway calls goes through (provider endpoints, platform webhooks and
 * token endpoints, MCP servers, {@code http_fetch}): http or https only, and no address inside the
 * host or its network (loopback, private, link-local such as the cloud metadata address
 * 169.254.169.254, unique-local, unspecified, multicast, reserved; IPv6 forms that embed an IPv4
 * address are judged by that address) unless {@code security.outbound.allow} (or
 * {@code SWITCHBOARD_OUTBOUND_ALLOW}) lists the host, the address or a CIDR containing it. Every
 * address a name resolves to is checked, so one internal answer among public ones is enough to refuse.
 * Configured URLs are checked at start-up ({@link #checkConfigured}); tool URLs on each call
 * ({@link #check}), whose answer is the address to connect to, so a second lookup cannot swap it.
 */
public final class OutboundGuard {

  public static final String ENV = "SWITCHBOARD_OUTBOUND_ALLOW";
  public static final String KEY = "security.outbound.allow";
  /** Refuses every internal address: the guard of a Vert.x that had none installed. */
  public static final OutboundGuard STRICT = new OutboundGuard(List.of());

  private static final String MAP = "switchboard.outbound";
  private static final Pattern IPV4 = Pattern.compile("(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-f:.]*:[0-9a-f:.]*");
  private static final Pattern NAME = Pattern.compile("(\\*\\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\\.?");

  private final List<String> entries;
  private final Set<String> names = new LinkedHashSet<>();
  private final List<String> suffixes = new ArrayList<>();
  private final List<Cidr> cidrs = new ArrayList<>();

  private OutboundGuard(List<String> entries) {
    this.entries = List.copyOf(entries);
    for (String entry : this.entries) {
      String e = unbracket(entry.trim().toLowerCase(Locale.ROOT));
      if (e.contains("/")) {
        cidrs.add(Cidr.parse(e));
      } else if (literal(e) != null) {
        cidrs.add(new Cidr(literal(e), literal(e).getAddress().length * 8));
      } else if (NAME.matcher(e).matches()) {
        if (e.startsWith("*.")) {
          suffixes.add(e.substring(1));
        } else {
          names.add(e.endsWith(".") ? e.substring(0, e.length() - 1) : e);
        }
      } else {
        throw new IllegalArgumentException("'" + entry + "' is not a host name, *.domain, IP address or CIDR (no scheme, port or path)");
      }
    }
  }

  /** {@code allow}: host names, {@code *.domain} for its subdomains, IP addresses ({@code ::1} or {@code [::1]}) or CIDRs. */
  public static OutboundGuard of(List<String> allow) {
    return new OutboundGuard(allow.stream().map(String::trim).filter(s -> !s.isEmpty()).toList());
  }

  /** {@code security.outbound} of switchboard.yaml, plus the comma-separated entries of {@link #ENV}. */
  public static OutboundGuard from(ConfigNode outbound, Function<String, String> env) {
    outbound.allowOnly("allow");
    List<String> allow = new ArrayList<>();
    for (String entry : outbound.get("allow").strings()) {
      try {
        of(List.of(entry));
      } catch (IllegalArgumentException e) {
        throw outbound.get("allow").error(e.getMessage());
      }
      allow.add(entry);
    }
    String extra = env.apply(ENV);
    for (String entry : extra == null ? new String[0] : extra.split(",")) {
      try {
        of(List.of(entry));
      } catch (IllegalArgumentException e) {
        throw new ConfigError("environment", ENV, e.getMessage());
      }
      allow.add(entry);
    }
    return of(allow);
  }

  /** This guard with more entries: a skill's own list on top of the gateway's. */
  public OutboundGuard plus(List<String> more) {
    List<String> all = new ArrayList<>(entries);
    all.addAll(more);
    return of(all);
  }

  public List<String> entries() {
    return entries;
  }

  /** Makes this the guard that {@link #in} answers for {@code vertx}, so two gateways in one JVM keep their own. */
  public void install(Vertx vertx) {
    vertx.sharedData().getLocalMap(MAP).put("allow", new JsonArray(entries));
  }

  /** The guard installed in {@code vertx}; {@link #STRICT} when none was. */
  public static OutboundGuard in(Vertx vertx) {
    Object allow = vertx.sharedData().getLocalMap(MAP).get("allow");
    return allow instanceof JsonArray a ? of(a.stream().map(String::valueOf).toList()) : STRICT;
  }

  /** A URL's parts, once it is one the gateway may call at all. */
  public record Target(URI uri, boolean tls, String host, int port) {
  }

  /** Parses {@code url}: http or https, a host, no user info; else {@link IllegalArgumentException} saying which. */
  public static Target target(String url) {
    URI uri;
    try {
      uri = new URI(url == null ? "" : url.trim());
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException("not a URL: " + e.getMessage());
    }
    String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!scheme.equals("http") && !scheme.equals("https")) {
      throw new IllegalArgumentException("only http:// and https:// URLs can be called");
    }
    if (uri.getHost() == null || uri.getRawUserInfo() != null) {
      throw new IllegalArgumentException("the URL needs a host (and no user:password@)");
    }
    boolean tls = scheme.equals("https");
    return new Target(uri, tls, unbracket(uri.getHost().toLowerCase(Locale.ROOT)),
        uri.getPort() > 0 ? uri.getPort() : tls ? 443 : 80);
  }

  /** Whether the host, as written in a URL, is listed: by name, by {@code *.domain}, or as an address in a listed CIDR. */
  public boolean allowsHost(String host) {
    String h = unbracket(host.toLowerCase(Locale.ROOT));
    h = h.endsWith(".") ? h.substring(0, h.length() - 1) : h;
    if (names.contains(h)) {
      return true;
    }
    for (String suffix : suffixes) {
      if (h.endsWith(suffix)) {
        return true;
      }
    }
    InetAddress address = literal(h);
    return address != null && allowsAddress(address);
  }

  public boolean allowsAddress(InetAddress address) {
    for (Cidr c : cidrs) {
      if (c.contains(address)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Blocking (a name is looked up): the address to connect to for {@code host}, once every address it
   * resolves to is acceptable; else {@link Refused} saying which address and what to list.
   */
  public InetAddress resolve(String host) {
    String h = unbracket(host.toLowerCase(Locale.ROOT));
    InetAddress[] addresses;
    try {
      InetAddress literal = literal(h);
      addresses = literal != null ? new InetAddress[] {literal} : InetAddress.getAllByName(h);
    } catch (UnknownHostException e) {
      throw new Refused("cannot resolve " + h);
    }
    if (allowsHost(h)) {
      return addresses[0];
    }
    for (InetAddress a : addresses) {
      String kind = internal(a);
      if (kind != null && !allowsAddress(a)) {
        throw new Refused(refusal(h, a, kind));
      }
    }
    return addresses[0];
  }

  /** {@link #resolve} on a worker thread: lookups block. */
  public Future<InetAddress> check(Vertx vertx, String host) {
    return vertx.executeBlocking(() -> resolve(host), false);
  }

  /**
   * At start-up, for a URL from a configuration file: a clear error naming the file and key, and the
   * one line that allows it. A name that does not resolve now is let through (start-up works offline);
   * calling it fails later like any unreachable host.
   */
  public void checkConfigured(ConfigNode node, String url) {
    Target t;
    try {
      t = target(url);
    } catch (IllegalArgumentException e) {
      throw node.error("'" + shown(url) + "': " + e.getMessage());
    }
    try {
      resolve(t.host());
    } catch (Refused e) {
      if (!e.getMessage().startsWith("cannot resolve")) {
        throw node.error("'" + redacted(t) + "': " + e.getMessage());
      }
    }
  }

  /**
   * {@link #checkConfigured} for every value under {@code root}, at any depth, whose key is one of
   * {@code keys} and that is set: one walk covers built-in and plug-in sections alike. A value without
   * a scheme ({@code session_webhook_hosts: ["oapi.dingtalk.com"]}) is a host called over https.
   */
  public void checkConfiguredUrls(ConfigNode root, Set<String> keys) {
    for (String key : root.keys()) {
      ConfigNode child = root.get(key);
      if (keys.contains(key)) {
        for (ConfigNode value : isList(child) ? child.list() : List.of(child)) {
          String url = text(value);
          if (!url.isEmpty() && (url.contains("://") || !"domain".equals(key))) {
            checkConfigured(value, url.contains("://") ? url : "https://" + url);
          }
        }
      } else {
        walk(child, keys);
      }
    }
  }

  private void walk(ConfigNode node, Set<String> keys) {
    if (node.keys().isEmpty() && isList(node)) {
      node.list().forEach(item -> walk(item, keys));
    } else {
      checkConfiguredUrls(node, keys);
    }
  }

  private static boolean isList(ConfigNode node) {
    try {
      return !node.isMissing() && node.list() != null;
    } catch (ConfigError notAList) {
      return false;
    }
  }

  /** A set single value; empty for an unset variable, a mapping or a list (their own loaders report those). */
  private static String text(ConfigNode node) {
    try {
      return node.stringIfSet("");
    } catch (ConfigError notText) {
      return "";
    }
  }

  /** What is refused and the line to add; the host is named as written, which also covers its other addresses. */
  private static String refusal(String host, InetAddress a, String kind) {
    String what = literal(host) != null ? host + " is an internal address (" + kind + ")"
        : host + " resolves to the internal address " + canonical(a) + " (" + kind + ")";
    return "refused: " + what + "; outbound calls do not reach loopback, private or link-local addresses unless allowed:"
        + " add `allow: [\"" + host + "\"]` under security.outbound in switchboard.yaml (or set " + ENV + "=" + host + ")";
  }

  /** Scheme, host and port only: a configured URL may carry a key in its path or query. */
  /** A URL that did not parse, as an error may show it: no user:password@, no query (webhook tokens ride there). */
  private static String shown(String url) {
    return url.replaceFirst("^([^/?#]*//)[^/?#]*@", "$1…@").replaceFirst("[?#].*$", "?…");
  }

  private static String redacted(Target t) {
    String host = t.host().contains(":") ? "[" + t.host() + "]" : t.host();
    return (t.tls() ? "https" : "http") + "://" + host + ":" + t.port();
  }

  /** Null for an address on the internet; else what kind of internal address it is. */
  public static String internal(InetAddress a) {
    byte[] b = a.getAddress();
    if (a instanceof Inet6Address) {
      InetAddress embedded = embeddedV4(b);
      if (embedded != null) {
        String kind = internal(embedded);
        return kind == null ? null : kind + " (IPv4 " + embedded.getHostAddress() + " inside IPv6)";
      }
    }
    if (a.isAnyLocalAddress()) {
      return "unspecified";
    }
    if (a.isLoopbackAddress()) {
      return "loopback";
    }
    if (a.isLinkLocalAddress()) {
      return "link-local";
    }
    if (a.isSiteLocalAddress()) {
      return "private";
    }
    if (a.isMulticastAddress()) {
      return "multicast";
    }
    if (a instanceof Inet6Address) {
      return (b[0] & 0xfe) == 0xfc ? "unique-local" : null; // fc00::/7
    }
    int first = b[0] & 0xff;
    int second = b[1] & 0xff;
    if (first == 0) {
      return "unspecified"; // 0.0.0.0/8, "this network"
    }
    if (first == 100 && second >= 64 && second < 128) {
      return "private"; // shared address space (carrier-grade NAT) 100.64/10
    }
    if ((first == 192 && second == 0 && (b[2] & 0xff) == 0) || (first == 198 && (second == 18 || second == 19))) {
      // 192.0.0/24, IETF protocol assignments (Oracle Cloud's metadata service is 192.0.0.192), and
      // 198.18/15, for benchmarking networks: neither is on the internet
      return "reserved";
    }
    return first >= 240 ? "reserved" : null; // 240/4 and the broadcast address
  }

  /**
   * The IPv4 address inside an IPv6 one that carries it (mapped ::ffff:0:0/96, compatible ::/96,
   * NAT64 64:ff9b::/96, 6to4 2002::/16): they reach that IPv4 address, so they are judged as it.
   */
  private static InetAddress embeddedV4(byte[] b) {
    boolean zeros80 = allZero(b, 0, 10);
    byte[] v4 = null;
    if (zeros80 && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff) {
      v4 = Arrays.copyOfRange(b, 12, 16);
    } else if (zeros80 && b[10] == 0 && b[11] == 0 && !allZero(b, 12, 15)) {
      v4 = Arrays.copyOfRange(b, 12, 16); // ::a.b.c.d, but not :: or ::1
    } else if ((b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b
        && allZero(b, 4, 12)) {
      v4 = Arrays.copyOfRange(b, 12, 16);
    } else if ((b[0] & 0xff) == 0x20 && (b[1] & 0xff) == 0x02) {
      v4 = Arrays.copyOfRange(b, 2, 6);
    }
    try {
      return v4 == null ? null : InetAddress.getByAddress(v4);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static boolean allZero(byte[] b, int from, int to) {
    for (int i = from; i < to; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  /** Whether {@code text} is an IP address (not a name), bracketed or not. */
  public static boolean isAddress(String text) {
    return literal(text.trim().toLowerCase(Locale.ROOT)) != null;
  }

  /** The address an IP literal names, without any lookup; null for anything else. */
  static InetAddress literal(String text) {
    String s = unbracket(text);
    if (!IPV4.matcher(s).matches() && !(IPV6.matcher(s).matches() && s.indexOf(':') >= 0)) {
      return null;
    }
    try {
      // a literal is parsed, never looked up
      return InetAddress.getByName(s.startsWith("[") ? s : s.contains(":") ? "[" + s + "]" : s);
    } catch (UnknownHostException e) {
      return null;
    }
  }

  private static String canonical(InetAddress a) {
    return a.getHostAddress().replaceAll("%.*$", "");
  }

  private static String unbracket(String host) {
    return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
  }

  /** A refused or unresolvable target; its message says what to do. */
  public static final class Refused extends IllegalStateException {
    public Refused(String message) {
      super(message);
    }
  }

  /** An address block: {@code 10.0.0.0/8}, {@code fd00::/8}; a plain address is a block of one. */
  private record Cidr(InetAddress base, int bits) {

    static Cidr parse(String text) {
      int slash = text.indexOf('/');
      InetAddress base = literal(text.substring(0, slash));
      int bits;
      try {
        bits = Integer.parseInt(text.substring(slash + 1));
      } catch (NumberFormatException e) {
        bits = -1;
      }
      if (base == null || bits < 0 || bits > base.getAddress().length * 8) {
        throw new IllegalArgumentException("'" + text + "' is not a CIDR such as 10.0.0.0/8 or fd00::/8");
      }
      return new Cidr(base, bits);
    }

    boolean contains(InetAddress address) {
      byte[] a = address.getAddress();
      byte[] b = base.getAddress();
      if (a.length != b.length) {
        // an IPv4 block also holds the IPv6 forms of its addresses
        InetAddress embedded = a.length == 16 ? embeddedV4(a) : null;
        return embedded != null && contains(embedded);
      }
      int full = bits / 8;
      for (int i = 0; i < full; i++) {
        if (a[i] != b[i]) {
          return false;
        }
      }
      int rest = bits % 8;
      if (rest == 0) {
        return true;
      }
      int mask = (0xff << (8 - rest)) & 0xff;
      return (a[full] & mask) == (b[full] & mask);
    }
  }
}
