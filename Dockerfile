# Tandem's container image: the exporter, the demo loader and the dashboard generator, as static
# binaries on a distroless base, run as a non-root user. The build step is `make build`, the same
# command developers and CI use.

# Build stage: pinned Go toolchain.
FROM golang:1.26.8-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN make build VERSION=${VERSION} BIN=/out

# Runtime stage: no shell, no package manager, uid 65532.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/tandem-exporter /out/tandem-demo /out/tandem-dashboards /usr/local/bin/
COPY --from=build /src/tandem.example.yml /etc/tandem/tandem.yml
USER nonroot:nonroot
EXPOSE 9866
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["/usr/local/bin/tandem-exporter", "--healthcheck"]
ENTRYPOINT ["/usr/local/bin/tandem-exporter"]
CMD ["--config.file=/etc/tandem/tandem.yml"]
