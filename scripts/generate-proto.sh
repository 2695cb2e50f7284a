#!/usr/bin/env bash
# Regenerates Sources/IntermeshLighthouse/Generated from Proto/lighthouse.proto. The generated code is committed, so a
# build never needs this: run it only after changing the .proto. It builds swift-protobuf's and grpc-swift-protobuf's
# protoc plugins (minutes, once) in a scratch package and runs Debian's protoc (`apt-get install protobuf-compiler`).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch="${INTERMESH_PLUGIN_DIR:-/tmp/intermesh-protoc-plugins}"
mkdir -p "$scratch/dummy"
cat > "$scratch/Package.swift" <<'SWIFT'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "plugins",
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
    ],
    targets: [.executableTarget(name: "dummy", path: "dummy")]
)
SWIFT
echo 'print("")' > "$scratch/dummy/main.swift"
(cd "$scratch" && swift build -c release --product protoc-gen-swift && swift build -c release --product protoc-gen-grpc-swift-2)
bin="$scratch/.build/release"
module=Sources/IntermeshLighthouse
protoc -I "$module/Proto" \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
  --swift_out="$module/Generated" --swift_opt=Visibility=Public \
  --grpc-swift_out="$module/Generated" --grpc-swift_opt=Visibility=Public \
  "$module/Proto/lighthouse.proto"
echo "generated: $(ls "$module/Generated")"
