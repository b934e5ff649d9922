# Shared by the scripts that run Maven. Source it, then call plain_maven_output.

# plain_maven_output [FD]: when FD (default 1, stdout) is not a terminal, keep Maven from
# writing colour codes into it. Debian's Maven 3.8.7 ships Jansi without its Linux native
# library, so Jansi cannot tell a pipe or a log file from a terminal: without -B every line is
# coloured, and even with -B it writes ESC[0m resets at start and exit. Both switches are read by
# Jansi when the JVM starts, so they go in MAVEN_OPTS (a -D on the mvn command line comes too late).
plain_maven_output() {
  local fd="${1:-1}"
  if [[ ! -t "$fd" ]]; then
    export MAVEN_OPTS="${MAVEN_OPTS:+$MAVEN_OPTS }-Djansi.mode=strip -Djansi.noreset=true"
  fi
}
