package dev.switchboard.ingress;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.switchboard.bus.Addresses;
import dev.switchboard.testing.FakeUpstream;
import dev.switchboard.testing.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code server.tls} as a security review checks it: which protocol versions and suites a
 * handshake may end in (tried with OpenSSL's own client, which still speaks TLS 1.0 and 1.1),
 * HTTP/2 by ALPN with the official OpenAI client, and a renewed certificate taken up without a restart.
 */
@DisplayName("TLS on the listener")
class TlsTest {

  static final Path FILES = Path.of("src", "test", "resources", "tls").toAbsolutePath();

  @TempDir
  static Path dir;
  static Vertx vertx;
  static FakeUpstream upstream;
  static TestGateway gateway;

  @BeforeAll
  static void start() throws Exception {
    vertx = Vertx.vertx();
    upstream = FakeUpstream.start(vertx).await(10, TimeUnit.SECONDS);
    Files.copy(FILES.resolve("rsa-cert.pem"), dir.resolve("cert.pem"));
    Files.copy(FILES.resolve("rsa-key-pkcs8.pem"), dir.resolve("key.pem"));
    String yaml = ShippedConf.switchboardWith("server", "  tls: { enabled: true, cert: \"" + dir.resolve("cert.pem")
        + "\", key: \"" + dir.resolve("key.pem") + "\", reload_check: 200ms }");
    gateway = TestGateway.builder().upstream(upstream.baseUrl()).env("MODEL_NAME", "fake-model")
        .file("switchboard.yaml", yaml).start();
  }

  @AfterAll
  static void stop() throws Exception {
    gateway.close();
    vertx.close().await(10, TimeUnit.SECONDS);
  }

  /** {@code openssl s_client} with one protocol (and suite) forced; true when the handshake completed. */
  private static boolean handshake(String... options) throws Exception {
    return completed(openssl(options));
  }

  private static boolean completed(String out) {
    return out.contains("New, TLSv1.") && !out.contains("Cipher is (NONE)");
  }

  private static String openssl(String... options) throws Exception {
    List<String> command = new ArrayList<>(List.of("openssl", "s_client", "-connect", "127.0.0.1:" + gateway.port(),
        "-servername", "localhost"));
    command.addAll(List.of(options));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(20, TimeUnit.SECONDS), "openssl did not finish");
    // a completed handshake prints the negotiated suite; a refused one prints "Cipher is (NONE)" or an alert
    return out;
  }

  @Test
  @DisplayName("TLS 1.2 and 1.3 handshakes complete")
  void modernVersionsComplete() throws Exception {
    assertTrue(handshake("-tls1_3"));
    assertTrue(handshake("-tls1_2"));
  }

  @Test
  @DisplayName("TLS 1.1 and 1.0 handshakes fail, even from a client that allows them")
  void oldVersionsFail() throws Exception {
    // SECLEVEL=0 makes OpenSSL itself willing to speak them; the refusal must come from the gateway
    for (String[] version : new String[][] {{"-tls1_1", "TLS 1.1"}, {"-tls1", "TLS 1.0"}}) {
      String out = openssl(version[0], "-cipher", "DEFAULT:@SECLEVEL=0", "-msg");
      assertTrue(out.contains(">>> " + version[1] + ", Handshake [length"), "the client did not offer " + version[1] + ": " + out);
      assertEquals(false, completed(out), version[1] + " was accepted: " + out);
    }
  }

  @Test
  @DisplayName("TLS 1.2 without forward secrecy or with CBC is refused")
  void weakSuitesAreRefused() throws Exception {
    assertEquals(false, handshake("-tls1_2", "-cipher", "AES128-GCM-SHA256"));
    assertEquals(false, handshake("-tls1_2", "-cipher", "ECDHE-RSA-AES128-SHA"));
    assertTrue(handshake("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"));
  }

  @Test
  @DisplayName("the official OpenAI client talks HTTP/2 to the gateway")
  void http2WithTheOpenAiClient() throws Exception {
    double before = http2Requests();
    X509TrustManager trust = trusting(FILES.resolve("rsa-cert.pem"), FILES.resolve("ec-cert.pem"));
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new javax.net.ssl.TrustManager[] {trust}, null);
    OpenAIClient client = OpenAIOkHttpClient.builder()
        .baseUrl("https://localhost:" + gateway.port() + "/v1")
        .apiKey(gateway.token("h2-user"))
        .sslSocketFactory(context.getSocketFactory())
        .trustManager(trust)
        // the test certificates name localhost in their CN only, which OkHttp's checker does not read
        .hostnameVerifier((host, session) -> "localhost".equals(host))
        .maxRetries(0)
        .timeout(Duration.ofSeconds(20))
        .build();
    try {
      ChatCompletion answer = client.chat().completions().create(ChatCompletionCreateParams.builder()
          .model("fake-model").addUserMessage("hello over h2").build());
      assertTrue(answer.choices().get(0).message().content().isPresent());
    } finally {
      client.close();
    }
    assertTrue(http2Requests() >= before + 1, "the gateway counted no HTTP/2 request");
  }

  @Test
  @DisplayName("a renewed certificate is served to new handshakes without a restart; a bad one is not taken")
  void certificateReload() throws Exception {
    X509Certificate rsa = read(FILES.resolve("rsa-cert.pem"));
    X509Certificate ec = read(FILES.resolve("ec-cert.pem"));
    Path cert = dir.resolve("cert.pem");
    Path key = dir.resolve("key.pem");
    X509Certificate now = served();
    boolean toEc = now.equals(rsa);
    // a key that does not belong to the certificate: refused, the one in use stays
    replace(cert, FILES.resolve(toEc ? "ec-cert.pem" : "rsa-cert.pem"));
    Thread.sleep(800);
    assertEquals(now, served(), "a certificate without its key was taken");
    replace(key, FILES.resolve(toEc ? "ec-key-pkcs8.pem" : "rsa-key-pkcs8.pem"));
    X509Certificate expected = toEc ? ec : rsa;
    long deadline = System.currentTimeMillis() + 10_000;
    while (!expected.equals(served()) && System.currentTimeMillis() < deadline) {
      Thread.sleep(100);
    }
    assertEquals(expected, served(), "the renewed certificate was not taken up");
    assertNotEquals(now, served());
  }

  @Test
  @DisplayName("a reload asked for over the bus says why files are refused")
  void reloadOnRequestNamesTheProblem() throws Exception {
    Path bad = dir.resolve("cert.pem");
    byte[] kept = Files.readAllBytes(bad);
    try {
      Files.writeString(bad, "not a certificate");
      Exception e = org.junit.jupiter.api.Assertions.assertThrows(Exception.class, () -> gateway.vertx().eventBus()
          .request(Addresses.TLS_RELOAD, new JsonObject()).await(10, TimeUnit.SECONDS));
      assertTrue(e.getMessage().contains("server.tls.cert") && e.getMessage().contains("not a PEM file"), e.getMessage());
    } finally {
      Files.write(bad, kept);
    }
    JsonObject ok = (JsonObject) gateway.vertx().eventBus().request(Addresses.TLS_RELOAD, new JsonObject())
        .await(10, TimeUnit.SECONDS).body();
    assertEquals(true, ok.getBoolean("reloaded"));
  }

  static void replace(Path target, Path source) throws Exception {
    Path tmp = target.resolveSibling(target.getFileName() + ".new");
    Files.copy(source, tmp, StandardCopyOption.REPLACE_EXISTING);
    // as renewal tools do: a new file moved into place, with a time the check can tell apart
    Files.setLastModifiedTime(tmp, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 1000));
    Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  /** The certificate a fresh handshake is given. */
  private static X509Certificate served() throws Exception {
    return served(gateway.port());
  }

  static X509Certificate served(int port) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    context.init(null, new javax.net.ssl.TrustManager[] {new X509TrustManager() {
      public void checkClientTrusted(X509Certificate[] chain, String auth) {
      }

      public void checkServerTrusted(X509Certificate[] chain, String auth) {
      }

      public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
      }
    }}, null);
    try (SSLSocket socket = (SSLSocket) context.getSocketFactory().createSocket("127.0.0.1", port)) {
      socket.setSoTimeout(5000);
      socket.startHandshake();
      return (X509Certificate) socket.getSession().getPeerCertificates()[0];
    }
  }

  private static double http2Requests() {
    var counter = dev.switchboard.observe.Metrics.current().registry()
        .find("switchboard.http.requests.by.version").tag("version", "2").counter();
    return counter == null ? 0 : counter.count();
  }

  static X509Certificate read(Path pem) throws Exception {
    try (InputStream in = Files.newInputStream(pem)) {
      return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
    }
  }

  private static X509TrustManager trusting(Path... pems) throws Exception {
    KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
    store.load(null, null);
    int i = 0;
    for (Path pem : pems) {
      Certificate c = read(pem);
      store.setCertificateEntry("c" + i++, c);
    }
    TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    factory.init(store);
    return (X509TrustManager) factory.getTrustManagers()[0];
  }
}
