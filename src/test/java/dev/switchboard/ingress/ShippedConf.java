package dev.switchboard.ingress;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The shipped {@code conf/switchboard.yaml} with a few keys of one section set differently. */
final class ShippedConf {

  private ShippedConf() {
  }

  /**
   * {@code lines} (keys indented two spaces, with their own nested lines) at the top of
   * {@code section}; a key the shipped section already has is replaced, since YAML refuses a key twice.
   */
  static String switchboardWith(String section, String... lines) {
    List<String> shipped;
    try {
      shipped = new ArrayList<>(Files.readAllLines(Path.of("conf", "switchboard.yaml")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int start = shipped.indexOf(section + ":");
    if (start < 0) {
      throw new IllegalArgumentException("no section " + section);
    }
    for (String line : lines) {
      if (!line.startsWith("  ") || line.startsWith("   ")) {
        continue;
      }
      String key = line.trim().substring(0, line.trim().indexOf(':') + 1);
      for (int i = start + 1; i < shipped.size() && (shipped.get(i).startsWith(" ") || shipped.get(i).isEmpty()); i++) {
        if (shipped.get(i).startsWith("  " + key)) {
          shipped.remove(i);
          while (i < shipped.size() && shipped.get(i).startsWith("   ")) {
            shipped.remove(i);
          }
          break;
        }
      }
    }
    shipped.addAll(start + 1, List.of(lines));
    return String.join("\n", shipped) + "\n";
  }
}
