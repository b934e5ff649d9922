# Build with Maven, run on a JRE. Not built in CI (no Docker engine there); kept simple on purpose.
#
#   docker build -t switchboard .
#   docker run -d --name switchboard -p 127.0.0.1:18789:18789 --ulimit nofile=65536:65536 \
#     -e SWITCHBOARD_JWT_SECRET=... -e MODEL_ENDPOINT=... -e MODEL_API_KEY=... -v switchboard-data:/var/lib/switchboard switchboard
#
# A Dockerfile cannot raise the descriptor limit: pass --ulimit nofile=65536:65536 (compose: ulimits: { nofile: 65536 }).
# Every open connection takes a descriptor, and server.max_connections (10000) must stay well below the limit.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -q -B dependency:go-offline
COPY conf conf
COPY src src
RUN mvn -q -B package -DskipTests

FROM eclipse-temurin:17-jre
RUN useradd --system --home /var/lib/switchboard switchboard && mkdir -p /var/lib/switchboard /etc/switchboard \
    && chown switchboard /var/lib/switchboard
COPY --from=build /src/target/switchboard.jar /opt/switchboard/switchboard.jar
COPY conf /etc/switchboard
ENV SWITCHBOARD_CONF_DIR=/etc/switchboard \
    SWITCHBOARD_DATA_DIR=/var/lib/switchboard \
    SWITCHBOARD_HTTP_HOST=0.0.0.0
USER switchboard
EXPOSE 18789
HEALTHCHECK CMD ["sh", "-c", "exec 3<>/dev/tcp/127.0.0.1/18789 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q ' 200 ' <&3"]
# The heap may take half of the container's memory limit (the JVM's own default is a quarter):
# the other half is for what is not heap, and here that is a lot (the local embedding model's
# ONNX runtime, Netty's buffers, metaspace, thread stacks); 75% would leave a 512 MB container
# 128 MB for all of it, and going over the limit is a kill by the kernel, not a Java error. The
# gateway's live heap is about 20-50 MB; the rest is headroom for bursts, which the gateway gives
# back when idle (dev.switchboard.observe.JvmDefaults, as for a plain java -jar). A heap that runs
# out anyway exits, so that the restart policy starts a clean process rather than one that limps.
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=50", "-XX:+ExitOnOutOfMemoryError", "-jar", "/opt/switchboard/switchboard.jar"]
