# keyhound in a container: a static (musl) build on Alpine, with git.
#
#   docker build -t keyhound .
#   docker run --rm -v "$PWD:/src" keyhound dir /src
#   docker run --rm -v "$PWD:/src" keyhound git /src
#
# Mounted repositories: the container runs as root and the mounted files belong to the host's
# user, so git — and libgit2, which keyhound reads repositories with — would refuse them as
# "dubious ownership". That check protects a user from a repository's config running commands
# (core.fsmonitor, hooks, filters) as that user. keyhound runs nothing from a repository, and
# this image exists to read the one repository it is given, so the image's system git config
# (/etc/gitconfig, read by git and libgit2 alike) trusts every directory: no `safe.directory`
# flag or --user mapping is needed. Running `git` itself against an untrusted repository is
# not what this image is for.

FROM rust:1-alpine AS build
RUN apk add --no-cache musl-dev zlib-dev zlib-static
WORKDIR /build
COPY . .
# Alpine's Rust targets musl and links statically: the binary depends on nothing.
RUN cargo build --release --locked --bin keyhound \
 && ! ldd target/release/keyhound 2>/dev/null | grep -q '=>' \
 && ./target/release/keyhound --version

FROM alpine:3.22
RUN apk add --no-cache git \
 && git config --system --add safe.directory '*'
COPY --from=build /build/target/release/keyhound /usr/local/bin/keyhound
WORKDIR /src
ENTRYPOINT ["keyhound"]
CMD ["--help"]
