# The wgts native shim (DESIGN.md, "The native shim"). Built by scripts/build-native.mjs against the
# running Node's own headers (include/node under its install prefix), so no download ever happens.
# OpenSSL is not linked: the node binary exports the EVP symbols that aead.c, mac.c and xaead.c call.
{
  "targets": [
    {
      "target_name": "wgts_native",
      "sources": [
        "src/addon.c",
        "src/aead.c",
        "src/fd.c",
        "src/mac.c",
        "src/memory.c",
        "src/netdev.c",
        "src/poll.c",
        "src/udp.c",
        "src/xaead.c"
      ],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
