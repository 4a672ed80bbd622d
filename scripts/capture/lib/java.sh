# Shared by the Java capture writers (spring-kafka, kafka-connect). Source it, then:
#   ensure_java_maven            installs a JDK 17+ and Maven with apt-get when missing (fresh machine)
#   maven_classpath DIR          compiles DIR/pom.xml into DIR/target and prints the runtime classpath
#   java_version                 the running JVM's version (java.version)
ensure_java_maven() {
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=300 install --no-install-recommends)
  local sudo=(); [[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
  if ! command -v javac >/dev/null 2>&1 || ! command -v mvn >/dev/null 2>&1; then
    echo "capture: installing openjdk-17-jdk-headless and maven" >&2
    "${sudo[@]}" "${apt[@]}" openjdk-17-jdk-headless maven >/dev/null 2>&1 ||
      { "${sudo[@]}" apt-get update -q >/dev/null; "${sudo[@]}" "${apt[@]}" openjdk-17-jdk-headless maven >/dev/null; }
  fi
}

maven_classpath() {
  local dir=$1
  mvn -B -q -Dstyle.color=never -f "$dir/pom.xml" compile dependency:build-classpath -Dmdep.outputFile="$dir/target/classpath.txt" >&2
  cat "$dir/target/classpath.txt"
}

java_version() {
  java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.version = //p'
}
