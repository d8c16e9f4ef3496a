# Sourced by ./gemma-lora and ./run-tests: exports JAVA_HOME pointing at a JDK 25. The version is
# matched on its own line: with JAVA_TOOL_OPTIONS set, `java -version` first prints "Picked up ...".
find_jdk25() {
  local candidate
  for candidate in "${GEMMA_LORA_JAVA_HOME:-}" "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25*; do
    if [ -n "$candidate" ] && [ -x "$candidate/bin/java" ] \
       && "$candidate/bin/java" -version 2>&1 | grep -q '^[a-z]* version "25'; then
      echo "$candidate"; return 0
    fi
  done
  return 1
}
JAVA_HOME="$(find_jdk25)" || { echo "error: JDK 25 not found; install it or set GEMMA_LORA_JAVA_HOME to its folder" >&2; exit 1; }
export JAVA_HOME
# Maven's own bundled Guava warns about sun.misc.Unsafe on JDK 24+; that noise is not ours.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
