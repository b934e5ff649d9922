# Build with Maven, run on a JRE. Not built in CI (no Docker engine there); kept simple on purpose.
#
#   docker build -t switchboard .
#   docker run -d --name switchboard -p 127.0.0.1:18789:18789 --ulimit nofile=65536:65536 --stop-timeout 30 \
#     -e SWITCHBOARD_JWT_SECRET=... -e MODEL_ENDPOINT=... -e MODEL_API_KEY=... -v switchboard-data:/var/lib/switchboard switchboard
#   docker exec switchboard java -jar /opt/switchboard/switchboard.jar token --sub alice --ttl 30d
#
# A Dockerfile cannot raise the descriptor limit: pass --ulimit nofile=65536:65536 (compose: ulimits: { nofile: 65536 }).
# Every open connection takes a descriptor, and server.max_connections (10000) must stay well below the limit.
# More JVM options without rebuilding: -e JAVA_TOOL_OPTIONS="-Xlog:gc:stderr" (the JVM reads it itself).

FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
# the dependencies in a layer of their own: a change to src/ or conf/ does not download them again
COPY pom.xml .
RUN mvn -q -B dependency:go-offline
COPY conf conf
COPY src src
RUN mvn -q -B package -DskipTests

FROM eclipse-temurin:17-jre
ARG VERSION=dev
LABEL org.opencontainers.image.title="switchboard" \
      org.opencontainers.image.description="Switchboard AI agent hub: OpenAI-compatible gateway, bots, tasks, memory" \
      org.opencontainers.image.version="${VERSION}"
# a fixed numeric UID/GID: volume ownership stays the same across rebuilds, and orchestrators that
# require a non-root user (Kubernetes runAsNonRoot) can check a number
RUN groupadd --system --gid 10001 switchboard \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/switchboard --shell /usr/sbin/nologin switchboard \
    && mkdir -p /var/lib/switchboard /etc/switchboard && chown 10001:10001 /var/lib/switchboard && chmod 700 /var/lib/switchboard
# configuration first (changes less often than the jar); the folder is the gateway's group's to
# write because PUT /api/v1/rules replaces rules.yaml there (a temporary file, then a rename). That
# change lasts as long as the container: mount a volume on /etc/switchboard to keep it across a re-create.
COPY conf /etc/switchboard
RUN chgrp 10001 /etc/switchboard && chmod 2775 /etc/switchboard
COPY --from=build /src/target/switchboard.jar /opt/switchboard/switchboard.jar
ENV SWITCHBOARD_CONF_DIR=/etc/switchboard \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard \
    SWITCHBOARD_HTTP_HOST=0.0.0.0
WORKDIR /var/lib/switchboard
USER 10001:10001
EXPOSE 18789
# liveness over plain HTTP on the container's loopback (bash's /dev/tcp: the JRE image has no curl;
# dash, its sh, has no /dev/tcp). start-period covers the first start (the local embedding model
# loads, the embedded stores open); with server.tls on, point it at a plain port or drop it. It asks
# the port SWITCHBOARD_HTTP_PORT names (18789 unset): a server.port set in a mounted switchboard.yaml
# needs -e SWITCHBOARD_HTTP_PORT=<that port> as well, or the container is reported unhealthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${SWITCHBOARD_HTTP_PORT:-18789} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 4 grep -q ' 200 ' <&3"]
# the JVM runs as PID 1 (exec form) and gets the stop signal itself: it finishes running tasks
# within queue.shutdown_grace (20s) and exits 143; give it that time (docker stop -t 30,
# compose stop_grace_period: 30s)
STOPSIGNAL SIGTERM
# The heap may take half of the container's memory limit (the JVM's own default is a quarter):
# the other half is for what is not heap, and here that is a lot (the local embedding model's
# ONNX runtime, Netty's buffers, metaspace, thread stacks); 75% would leave a 512 MB container
# 128 MB for all of it, and going over the limit is a kill by the kernel, not a Java error. The
# gateway's live heap is about 20-50 MB; the rest is headroom for bursts, which the gateway gives
# back when idle (dev.switchboard.observe.JvmDefaults, as for a plain java -jar). A heap that runs
# out anyway exits, so that the restart policy starts a clean process rather than one that limps.
# Serial with a 64 MB young generation: on 2 CPUs the JVM would pick G1, whose heap grows with the
# load (548-642 MB RSS at 64 streams against 221 MB with these; README, "Memory footprint"), and a
# running JVM cannot change its collector. One GC thread suits a 2-core server.
ENTRYPOINT ["java", "-XX:+UseSerialGC", "-Xmn64m", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/switchboard/switchboard.jar"]
