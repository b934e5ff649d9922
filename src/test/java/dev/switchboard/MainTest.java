package dev.switchboard;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.switchboard.security.SelfCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

@DisplayName("What the command line prints")
class MainTest {

  @Test
  @DisplayName("help names the jar that is running")
  void helpNamesTheRunningJar() {
    PrintStream out = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      Main.main(new String[] {"--help"});
    } finally {
      System.setOut(out);
    }
    String help = captured.toString(StandardCharsets.UTF_8);
    assertTrue(help.contains("  " + SelfCommand.java() + " token --sub NAME [--ttl 1h]\n"), help);
  }

  @Test
  @DisplayName("the first-run line gives the mint command for the gateway's own data folder")
  void firstRunLineMintsWithTheGatewaysDataFolder() {
    Map<String, String> env = Map.of("SWITCHBOARD_DATA_DIR", "/srv/switchboard");
    String line = Main.firstRunLine(env::get, Path.of("/srv/switchboard"));
    assertTrue(line.endsWith("mint API tokens with: SWITCHBOARD_DATA_DIR=/srv/switchboard " + SelfCommand.java()
        + " token --sub <name>"), line);
  }
}
