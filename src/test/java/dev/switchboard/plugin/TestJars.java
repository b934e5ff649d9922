package dev.switchboard.plugin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

/** Plug-in jars with real classes, compiled by the test (the example plug-ins are Maven modules, built for the ITs only). */
final class TestJars {

  private TestJars() {
  }

  /** A skill named after its class (lower case) whose description is the Java expression {@code description}. */
  static String skillSource(String pkg, String cls, String description) {
    return "package " + pkg + ";\n"
        + "public final class " + cls + " implements dev.switchboard.agent.Skill {\n"
        + "  public String name() { return \"" + cls.toLowerCase(Locale.ROOT) + "\"; }\n"
        + "  public String description() { return " + description + "; }\n"
        + "  public io.vertx.core.json.JsonObject parameters() { return new io.vertx.core.json.JsonObject().put(\"type\", \"object\"); }\n"
        + "  public io.vertx.core.Future<String> run(dev.switchboard.agent.SkillCall call) { return io.vertx.core.Future.succeededFuture(\"\"); }\n"
        + "}\n";
  }

  /**
   * A jar of {@code entries}: a key with a '/' is a file, any other is a class name whose value is
   * its source, compiled here against Switchboard's and Vert.x's classes.
   */
  static byte[] compiledJar(Manifest manifest, Map<String, String> entries) throws IOException {
    Path src = Files.createTempDirectory("plugin-src");
    Path out = Files.createTempDirectory("plugin-classes");
    List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-cp",
        Path.of(URI.create(dev.switchboard.agent.Skill.class.getProtectionDomain().getCodeSource().getLocation().toString()))
            + File.pathSeparator
            + Path.of(URI.create(io.vertx.core.Future.class.getProtectionDomain().getCodeSource().getLocation().toString()))));
    for (Map.Entry<String, String> e : entries.entrySet()) {
      if (!e.getKey().contains("/")) {
        Path file = src.resolve(e.getKey().replace('.', '/') + ".java");
        Files.createDirectories(file.getParent());
        Files.writeString(file, e.getValue());
        args.add(file.toString());
      }
    }
    int rc = javax.tools.ToolProvider.getSystemJavaCompiler().run(null, null, null, args.toArray(String[]::new));
    assertEquals(0, rc, "javac " + args);
    manifest.getMainAttributes().putIfAbsent(Attributes.Name.MANIFEST_VERSION, "1.0");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (JarOutputStream zip = new JarOutputStream(bytes, manifest); Stream<Path> classes = Files.walk(out)) {
      for (Path c : classes.filter(Files::isRegularFile).sorted().toList()) {
        zip.putNextEntry(new JarEntry(out.relativize(c).toString().replace(File.separatorChar, '/')));
        zip.write(Files.readAllBytes(c));
        zip.closeEntry();
      }
      for (Map.Entry<String, String> e : entries.entrySet()) {
        if (e.getKey().contains("/")) {
          zip.putNextEntry(new JarEntry(e.getKey()));
          zip.write(e.getValue().getBytes(StandardCharsets.UTF_8));
          zip.closeEntry();
        }
      }
    }
    return bytes.toByteArray();
  }
}
