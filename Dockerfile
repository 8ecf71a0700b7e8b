# Builds both services once; each runtime stage is a small Debian image running as non-root.
#   docker build --target order-service -t kitchen/order-service .
#   docker build --target kitchen-notifier -t kitchen/kitchen-notifier .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p order-service -p kitchen-notifier \
    && cp target/release/order-service target/release/kitchen-notifier /usr/local/bin/

FROM debian:bookworm-slim AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home kitchen
USER kitchen

FROM runtime AS order-service
COPY --from=build /usr/local/bin/order-service /usr/local/bin/order-service
ENV LISTEN_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["/usr/local/bin/order-service", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/order-service"]

FROM runtime AS kitchen-notifier
COPY --from=build /usr/local/bin/kitchen-notifier /usr/local/bin/kitchen-notifier
ENV LISTEN_ADDR=0.0.0.0:8081
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["/usr/local/bin/kitchen-notifier", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/kitchen-notifier"]
