package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command that runs this gateway again, as hints print it. */
@DisplayName("The self command")
class SelfCommandTest {

  @Test
  @DisplayName("names the running jar relative to the working directory when it is under it")
  void jarUnderWorkDir(@TempDir Path dir) throws Exception {
    Path jar = Files.createFile(Files.createDirectories(dir.resolve("target")).resolve("switchboard.jar"));
    assertEquals("java -jar target/switchboard.jar", SelfCommand.forLocation(jar, dir));
  }

  @Test
  @DisplayName("names the running jar by its absolute path when it is elsewhere")
  void jarElsewhere(@TempDir Path dir) throws Exception {
    Path jar = Files.createFile(dir.resolve("gateway-1.2.jar"));
    Path work = Files.createDirectories(dir.resolve("work"));
    assertEquals("java -jar " + jar.toAbsolutePath(), SelfCommand.forLocation(jar, work));
  }

  @Test
  @DisplayName("run from a classes directory, names the jar mvn package builds next to it")
  void classesDirectory(@TempDir Path dir) throws Exception {
    Path classes = Files.createDirectories(dir.resolve("target").resolve("classes"));
    assertEquals("java -jar target/switchboard.jar", SelfCommand.forLocation(classes, dir));
  }

  @Test
  @DisplayName("quotes a path the shell would split")
  void quoted(@TempDir Path dir) throws Exception {
    Path jar = Files.createFile(Files.createDirectories(dir.resolve("my apps")).resolve("switchboard.jar"));
    assertEquals("java -jar 'my apps/switchboard.jar'", SelfCommand.forLocation(jar, dir));
  }

  @Test
  @DisplayName("the token hint is the self command with the token arguments")
  void mintCommand() {
    assertEquals(SelfCommand.java() + " token --sub <name>", Tokens.mintCommand());
  }

  @Test
  @DisplayName("without SWITCHBOARD_CONF_DIR, SWITCHBOARD_DATA_DIR or another data folder, no variables lead the command")
  void noVariables(@TempDir Path dir) {
    assertEquals("", SelfCommand.assignments(Map.<String, String>of()::get, Path.of("./data"), dir));
    assertEquals("", SelfCommand.assignments(Map.<String, String>of()::get, null, dir));
  }

  @Test
  @DisplayName("a gateway's SWITCHBOARD_CONF_DIR and SWITCHBOARD_DATA_DIR lead the command (a systemd unit's)")
  void serviceVariables(@TempDir Path dir) {
    Map<String, String> env = Map.of("SWITCHBOARD_CONF_DIR", "/etc/switchboard", "SWITCHBOARD_DATA_DIR", "/var/lib/switchboard");
    assertEquals("SWITCHBOARD_CONF_DIR=/etc/switchboard SWITCHBOARD_DATA_DIR=/var/lib/switchboard ",
        SelfCommand.assignments(env::get, Path.of("/var/lib/switchboard"), dir));
  }

  @Test
  @DisplayName("a data folder other than ./data, set in the configuration, is named by SWITCHBOARD_DATA_DIR")
  void dataDirFromConfiguration(@TempDir Path dir) {
    assertEquals("SWITCHBOARD_DATA_DIR=/srv/switchboard/data ",
        SelfCommand.assignments(Map.<String, String>of()::get, Path.of("/srv/switchboard/data"), dir));
    assertEquals("SWITCHBOARD_DATA_DIR=state ", SelfCommand.assignments(Map.<String, String>of()::get, Path.of("./state"), dir));
  }

  @Test
  @DisplayName("a variable's value the shell would split is quoted")
  void variableQuoted(@TempDir Path dir) {
    assertEquals("SWITCHBOARD_DATA_DIR='/srv/my data' ",
        SelfCommand.assignments(Map.of("SWITCHBOARD_DATA_DIR", "/srv/my data")::get, null, dir));
  }

  @Test
  @DisplayName("with the secret in SWITCHBOARD_JWT_SECRET, the token hint says to set it as for the gateway, and never prints it")
  void secretFromEnvironment() {
    String secret = "env-secret-0123456789abcdef0123456789";
    String hint = Tokens.mintCommand(Map.of("SWITCHBOARD_DATA_DIR", "/var/lib/switchboard", "SWITCHBOARD_JWT_SECRET", secret)::get,
        Path.of("/var/lib/switchboard"));
    assertEquals("SWITCHBOARD_DATA_DIR=/var/lib/switchboard " + SelfCommand.java()
        + " token --sub <name>, with SWITCHBOARD_JWT_SECRET set as for the gateway", hint);
    assertFalse(hint.contains(secret), hint);
  }
}
