package dev.switchboard.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.config.ConfigError;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What is checked before a plug-in jar is opened by a class loader: its manifest, the catalog next
 * to it, the Switchboard version it requires; each refusal is one warning that names the file and the
 * id, and says what was expected and what was found. (Loading real plug-ins: {@code PluginJarsIT}.)
 */
class PluginChecksTest {

  @TempDir
  Path conf;
  @TempDir
  Path data;

  final List<LogRecord> warnings = Collections.synchronizedList(new ArrayList<>());
  final Handler handler = new Handler() {
    @Override
    public void publish(LogRecord record) {
      if (record.getLevel().intValue() >= Level.WARNING.intValue()) {
        warnings.add(record);
      }
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }
  };

  @BeforeEach
  void listen() {
    Logger.getLogger(Plugins.class.getName()).addHandler(handler);
  }

  @AfterEach
  void stopListening() {
    Logger.getLogger(Plugins.class.getName()).removeHandler(handler);
  }

  @Test
  void aJarMissingFromTheCatalogIsRefusedWithTheEntryThatWouldLetItIn() throws Exception {
    Path jar = jar("a.jar", manifest("demo", "1.0", "skill", "0.1"), Map.of());
    catalog("plugins: []\n");
    Plugins.Plugin p = only(load(true));
    assertEquals(Plugins.State.REFUSED, p.state());
    String sha = Plugins.sha256(jar);
    assertTrue(p.reason().contains("not in " + conf.resolve("plugins/catalog.yaml")), p.reason());
    assertTrue(p.reason().contains("id: \"demo\", version: \"1.0\", sha256: \"" + sha + "\""), p.reason());
    assertEquals(List.of("plug-in jar " + jar + " refused (id demo): " + p.reason()), messages());
  }

  @Test
  void aJarWhoseChecksumDiffersFromTheCatalogIsRefusedSayingBoth() throws Exception {
    Path jar = jar("a.jar", manifest("demo", "1.0", "skill", "0.1"), Map.of());
    String wrong = "0".repeat(64);
    catalog("plugins:\n  - { id: \"demo\", version: \"1.0\", sha256: \"" + wrong + "\" }\n");
    Plugins.Plugin p = only(load(true));
    assertEquals(Plugins.State.REFUSED, p.state());
    assertEquals("SHA-256 mismatch: " + conf.resolve("plugins/catalog.yaml") + " expects " + wrong + ", the jar is "
        + Plugins.sha256(jar), p.reason());
    assertEquals(1, warnings.size());
  }

  @Test
  void aJarOfAnotherVersionThanTheCatalogsIsRefused() throws Exception {
    Path jar = jar("a.jar", manifest("demo", "1.1", "skill", "0.1"), Map.of());
    catalog("plugins:\n  - { id: \"demo\", version: \"1.0\", sha256: \"" + Plugins.sha256(jar) + "\" }\n");
    assertEquals("version mismatch: " + conf.resolve("plugins/catalog.yaml") + " expects 1.0, the jar is 1.1",
        only(load(true)).reason());
  }

  @Test
  void aJarWithoutThePluginManifestEntriesIsRefused() throws Exception {
    jar("a.jar", new Manifest(), Map.of());
    Plugins.Plugin p = only(load(false));
    assertEquals(Plugins.State.REFUSED, p.state());
    assertTrue(p.reason().startsWith("manifest Switchboard-Plugin-Id '' is not"), p.reason());
  }

  @Test
  void anUnknownPluginTypeIsRefused() throws Exception {
    jar("a.jar", manifest("demo", "1.0", "theme", "0.1"), Map.of());
    assertEquals("manifest Switchboard-Plugin-Type 'theme' is not one of model-provider | channel | skill", only(load(false)).reason());
  }

  @Test
  void aPluginThatRequiresANewerSwitchboardIsRefused() throws Exception {
    jar("a.jar", manifest("demo", "1.0", "skill", "99.0"), Map.of());
    assertEquals("requires Switchboard 99.0, this is " + dev.switchboard.Version.current(), only(load(false)).reason());
  }

  @Test
  void aServiceNamedInTheJarButDefinedOnSwitchboardsClassPathIsNotThePluginsOwn() throws Exception {
    jar("a.jar", manifest("demo", "1.0", "skill", "0.1"),
        Map.of("META-INF/services/dev.switchboard.agent.Skill", "dev.switchboard.agent.WeatherPluginSkill\n"));
    assertEquals("declares type skill but lists no service in META-INF/services/dev.switchboard.agent.Skill",
        only(load(false)).reason());
  }

  @Test
  void aMalformedCatalogStopsStartUpNamingTheFileAndTheKey() throws Exception {
    jar("a.jar", manifest("demo", "1.0", "skill", "0.1"), Map.of());
    catalog("plugins:\n  - { id: \"demo\", version: \"1.0\", sha256: \"abc\" }\n");
    ConfigError e = assertThrows(ConfigError.class, () -> load(true));
    assertTrue(e.getMessage().contains("catalog.yaml") && e.getMessage().contains("sha256")
        && e.getMessage().contains("64 hex digits"), e.getMessage());
  }

  @Test
  void turningVerificationOffIsSaidOnceAtStartUp() throws Exception {
    load(false);
    assertEquals(List.of("plugins.verify is false (switchboard.yaml): plug-in jars load without being checked against "
        + "plugins/catalog.yaml"), messages());
  }

  @Test
  void jarsInTheDataFolderAreCheckedAgainstTheCatalogNextToThem() throws Exception {
    Files.createDirectories(data.resolve("plugins"));
    Path jar = data.resolve("plugins/b.jar");
    Files.move(jar("b.jar", manifest("demo", "1.0", "skill", "0.1"), Map.of()), jar);
    catalog("plugins:\n  - { id: \"demo\", version: \"1.0\", sha256: \"" + Plugins.sha256(jar) + "\" }\n");
    Plugins.Plugin p = only(load(true));
    assertEquals(jar.toAbsolutePath(), p.file());
    assertTrue(p.reason().contains("not in " + data.resolve("plugins/catalog.yaml").toAbsolutePath()), p.reason());
  }

  @Test
  void anUnknownKeyUnderPluginsInSwitchboardYamlStopsStartUp() throws Exception {
    Files.writeString(conf.resolve("switchboard.yaml"), "plugins:\n  verfy: false\n");
    ConfigError e = assertThrows(ConfigError.class, () -> dev.switchboard.Settings.load(conf,
        Map.of("SWITCHBOARD_DATA_DIR", data.toString(), "SWITCHBOARD_JWT_SECRET", "x".repeat(32))::get));
    assertTrue(e.getMessage().contains("switchboard.yaml") && e.getMessage().contains("verfy"), e.getMessage());
  }

  @Test
  void aJarWhoseManifestClassPathReachesAJarTheCatalogDoesNotVouchForIsRefused() throws Exception {
    // helper.lib is no *.jar, so no one checks it; without the refusal its skill would load as a.jar's
    Path plugins = Files.createDirectories(conf.resolve("plugins"));
    Files.write(plugins.resolve("helper.lib"), TestJars.compiledJar(new Manifest(), Map.of("evil.Hidden", TestJars.skillSource("evil", "Hidden",
        "\"hidden\""))));
    Manifest m = manifest("demo", "1.0", "skill", "0.1");
    m.getMainAttributes().put(Attributes.Name.CLASS_PATH, "helper.lib");
    Path jar = jar("a.jar", m, Map.of("META-INF/services/dev.switchboard.agent.Skill", "evil.Hidden\n"));
    catalog("plugins:\n  - { id: \"demo\", version: \"1.0\", sha256: \"" + Plugins.sha256(jar) + "\" }\n");
    Plugins.Plugin p = only(load(true));
    assertEquals(Plugins.State.REFUSED, p.state(), p.toString());
    assertEquals("manifest Class-Path 'helper.lib' names other jars, which the catalog does not vouch for: a plug-in is one "
        + "self-contained jar", p.reason());
  }

  @Test
  void aJarWithAJarIndexNamingAnotherJarIsRefused() throws Exception {
    Path plugins = Files.createDirectories(conf.resolve("plugins"));
    Files.write(plugins.resolve("helper.lib"), TestJars.compiledJar(new Manifest(), Map.of("evil.Hidden", TestJars.skillSource("evil", "Hidden",
        "\"hidden\""))));
    Path jar = jar("a.jar", manifest("demo", "1.0", "skill", "0.1"), Map.of(
        "META-INF/services/dev.switchboard.agent.Skill", "evil.Hidden\n",
        "META-INF/INDEX.LIST", "JarIndex-Version: 1.0\n\na.jar\nMETA-INF\n\nhelper.lib\nevil\n\n"));
    catalog("plugins:\n  - { id: \"demo\", version: \"1.0\", sha256: \"" + Plugins.sha256(jar) + "\" }\n");
    Plugins.Plugin p = only(load(true));
    assertEquals(Plugins.State.REFUSED, p.state(), p.toString());
    assertEquals("has META-INF/INDEX.LIST, a jar index that can name other jars, which the catalog does not vouch for: a "
        + "plug-in is one self-contained jar", p.reason());
  }

  @Test
  void theCodeThatRunsIsTheCodeThatWasCheckedEvenWhenTheJarIsOverwrittenAfterStartUp() throws Exception {
    // cp over a running plug-in (or a swap between the check and the class loader) must not change its code:
    // Texts is loaded only when description() is first called, after the check
    Path jar = Files.createDirectories(conf.resolve("plugins")).resolve("a.jar");
    Files.write(jar, skillJarWithLazyText("checked"));
    catalog("plugins:\n  - { id: \"demo\", version: \"1.0\", sha256: \"" + Plugins.sha256(jar) + "\" }\n");
    Plugins.Plugin p = only(load(true));
    assertEquals(Plugins.State.ENABLED, p.state(), p.toString());
    Files.write(jar, skillJarWithLazyText("swapped"));
    assertEquals("checked", ((dev.switchboard.agent.Skill) p.services().get(0)).description());
  }

  private byte[] skillJarWithLazyText(String text) throws IOException {
    return TestJars.compiledJar(manifest("demo", "1.0", "skill", "0.1"), Map.of(
        "lazy.TextSkill", TestJars.skillSource("lazy", "TextSkill", "Texts.TEXT"),
        "lazy.Texts", "package lazy; final class Texts { static final String TEXT = new String(\"" + text + "\"); }",
        "META-INF/services/dev.switchboard.agent.Skill", "lazy.TextSkill\n"));
  }

  @Test
  void aChannelPluginCannotTakeASectionOrAWebhookPathThatChannelsYamlOrTheIngressUseForThemselves() throws Exception {
    // store and alertmanager are channels.yaml's own sections; /webhooks/hooks/… and /webhooks/alertmanager/…
    // are routed before any plug-in channel's /webhooks/{channel}/{bot}
    List<String> reasons = new ArrayList<>();
    for (String[] names : List.of(new String[] {"mine", "store"}, new String[] {"hooks", "mine"}, new String[] {"alertmanager", "mine2"})) {
      Files.createDirectories(conf.resolve("plugins"));
      Files.write(conf.resolve("plugins/a.jar"), TestJars.compiledJar(manifest("demo", "1.0", "channel", "0.1"), Map.of(
          "c.Channel", "package c; public final class Channel implements dev.switchboard.channel.ChannelProvider {\n"
              + "  public String channel() { return \"" + names[0] + "\"; }\n"
              + "  public String section() { return \"" + names[1] + "\"; }\n"
              + "  public dev.switchboard.channel.Bot pushBot(dev.switchboard.config.ConfigNode e, dev.switchboard.config.ConfigNode r) {"
              + " return null; }\n}\n",
          "META-INF/services/dev.switchboard.channel.ChannelProvider", "c.Channel\n")));
      Plugins.Plugin p = only(load(false));
      assertEquals(Plugins.State.REFUSED, p.state(), p.toString());
      reasons.add(p.reason());
    }
    assertEquals(List.of(
        "channel 'mine' (section store) clashes with channels.yaml's own section store",
        "channel 'hooks' (section mine) clashes with the gateway's own /webhooks/hooks/",
        "channel 'alertmanager' (section mine2) clashes with the gateway's own /webhooks/alertmanager/"), reasons);
  }

  private List<Plugins.Plugin> load(boolean verify) {
    return Plugins.load(new PluginSettings(verify), conf, data).all();
  }

  private static Plugins.Plugin only(List<Plugins.Plugin> all) {
    assertEquals(1, all.size(), all.toString());
    return all.get(0);
  }

  private List<String> messages() {
    return warnings.stream().map(LogRecord::getMessage).toList();
  }

  private void catalog(String yaml) throws IOException {
    Files.createDirectories(conf.resolve("plugins"));
    Files.writeString(conf.resolve("plugins/catalog.yaml"), yaml);
  }

  private static Manifest manifest(String id, String version, String type, String requires) {
    Manifest m = new Manifest();
    Attributes a = m.getMainAttributes();
    a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
    a.putValue(PluginManifest.ID, id);
    a.putValue(PluginManifest.VERSION, version);
    a.putValue(PluginManifest.TYPE, type);
    a.putValue(PluginManifest.REQUIRES, requires);
    return m;
  }

  private Path jar(String name, Manifest manifest, Map<String, String> entries) throws IOException {
    Path dir = Files.createDirectories(conf.resolve("plugins"));
    Path jar = dir.resolve(name).toAbsolutePath();
    manifest.getMainAttributes().putIfAbsent(Attributes.Name.MANIFEST_VERSION, "1.0");
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream zip = new JarOutputStream(out, manifest)) {
      for (Map.Entry<String, String> e : entries.entrySet()) {
        zip.putNextEntry(new JarEntry(e.getKey()));
        zip.write(e.getValue().getBytes(StandardCharsets.UTF_8));
        zip.closeEntry();
      }
    }
    return jar;
  }
}
