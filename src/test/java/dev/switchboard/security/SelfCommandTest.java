package dev.switchboard.security;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
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
}
