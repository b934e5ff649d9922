#!/usr/bin/env bash
# Runs the OpenAI-compatible fake model server (src/test/java/dev/switchboard/testing/FakeUpstream.java).
#
#   scripts/fake-upstream.sh [--host 127.0.0.1] [--port 18800] [--delay-ms 0] [--instances N]
#
# Prints "fake upstream listening on http://127.0.0.1:18800/v1" and runs until killed.
# Compiles the test classes and writes target/test.classpath when they are missing or older than
# the sources; set FAKE_UPSTREAM_REBUILD=1 to force it.
set -euo pipefail

cd "$(dirname "$0")/.."

classes=target/test-classes/dev/switchboard/testing/FakeUpstream.class
classpath_file=target/test.classpath

needs_build() {
  [[ "${FAKE_UPSTREAM_REBUILD:-0}" == 1 ]] && return 0
  [[ -f "$classes" && -s "$classpath_file" ]] || return 0
  [[ pom.xml -nt "$classpath_file" ]] && return 0
  [[ src/test/java/dev/switchboard/testing/FakeUpstream.java -nt "$classes" ]] && return 0
  return 1
}

if needs_build; then
  echo "fake-upstream: building test classes and classpath..." >&2
  # shellcheck source=lib/maven.sh
  source scripts/lib/maven.sh
  plain_maven_output 2   # Maven's output goes to stderr below
  mvn -q -B -DskipTests test-compile dependency:build-classpath \
    -Dmdep.outputFile="$classpath_file" -Dmdep.includeScope=test >&2
  # the plugin leaves the file alone when its content is unchanged: mark it up to date
  touch "$classpath_file"
fi

exec java ${FAKE_UPSTREAM_JAVA_OPTS:-} -cp "target/test-classes:$(cat "$classpath_file")" \
  dev.switchboard.testing.FakeUpstream "$@"
