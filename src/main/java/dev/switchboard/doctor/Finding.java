package dev.switchboard.doctor;

/**
 * One line of the doctor's report: what was checked, what it found, and for a failure or a warning
 * the fix, in one sentence that names the file, key or environment variable to change.
 */
record Finding(Mark mark, String subject, String text, String fix) {

  /** ✓ fine; ! works, but not as it should run; ✗ broken; - not checked (off, or not used). */
  enum Mark {
    OK("✓"), WARN("!"), FAIL("✗"), SKIP("-");

    final String symbol;

    Mark(String symbol) {
      this.symbol = symbol;
    }
  }

  static Finding ok(String subject, String text) {
    return new Finding(Mark.OK, subject, text, null);
  }

  static Finding warn(String subject, String text, String fix) {
    return new Finding(Mark.WARN, subject, text, fix);
  }

  static Finding fail(String subject, String text, String fix) {
    return new Finding(Mark.FAIL, subject, text, fix);
  }

  static Finding skip(String subject, String text) {
    return new Finding(Mark.SKIP, subject, text, null);
  }

  String line() {
    return mark.symbol + " " + subject + ": " + text + (fix == null ? "" : " → fix: " + fix);
  }
}
