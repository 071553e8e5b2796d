#!/usr/bin/env bash
# `cmake --install` into a fresh prefix, then use it as a user would: the tools are on its bin/,
# pkg-config (moved prefix included) and find_package(Strata) build the C example against it,
# and it runs; libstrata.so exports the strata* C API and nothing else.
#   install_tree.sh BUILD_DIR SOURCE_DIR
set -u
build=$1 source=$2
prefix=$(mktemp -d /tmp/strata-install.XXXXXX)
trap 'rm -rf "$prefix" "$prefix.moved"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
cmake --install "$build" --prefix "$prefix" > "$prefix.log" 2>&1 || { cat "$prefix.log"; fail "cmake --install"; }
rm -f "$prefix.log"
for tool in strata-run strata-topo all_reduce_perf alltoall_perf sendrecv_perf moe_dispatch_perf; do
  [[ -x $prefix/bin/$tool ]] || fail "bin/$tool is not installed"
done
[[ -f $prefix/include/strata/strata.h && -f $prefix/include/strata/strata_moe.h ]] || fail "headers missing"
lib=$(dirname "$(find "$prefix" -name 'libstrata.so' | head -1)")
[[ -n $lib ]] || fail "libstrata.so missing"
pcdir=$(dirname "$(find "$prefix" -name strata.pc | head -1)")

# Exports: the C API only.
others=$(nm -D --defined-only "$lib/libstrata.so" | awk '{print $3}' | grep -v '^strata' | grep -v '^$' || true)
[[ -z $others ]] || fail "libstrata.so exports more than strata*: $(echo "$others" | head -5 | tr '\n' ' ')"
echo "exports: $(nm -D --defined-only "$lib/libstrata.so" | grep -c ' strata') strata* symbols, nothing else"

# pkg-config, then the same after moving the whole tree (the .pc file finds its own prefix).
for root in "$prefix" "$prefix.moved"; do
  if [[ $root != "$prefix" ]]; then mv "$prefix" "$root"; lib=${lib/$prefix/$root}; pcdir=${pcdir/$prefix/$root}; fi
  flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs strata) || fail "pkg-config"
  incdir=$(realpath -m "$(echo "$flags" | grep -o -- '-I[^ ]*' | head -1 | cut -c3-)")
  libdir=$(realpath -m "$(echo "$flags" | grep -o -- '-L[^ ]*' | head -1 | cut -c3-)")
  [[ $incdir == "$root/include" && $libdir == "$lib" ]] || fail "pkg-config points elsewhere: $flags (want $root)"
  cc -std=c11 "$source/examples/hello/hello.c" $flags -o "$root/hello_pc" || fail "building hello with pkg-config"
  LD_LIBRARY_PATH=$lib "$root/bin/strata-run" -n 2 "$root/hello_pc" | grep -q "rank 1 of 2: sum of ranks = 1" \
    || fail "hello built with pkg-config did not run"
  echo "pkg-config at $root: ok"
done
mv "$prefix.moved" "$prefix"; lib=${lib/$prefix.moved/$prefix}

# find_package(Strata).
mkdir -p "$prefix/consumer"
cat > "$prefix/consumer/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.22)
project(consumer C)
find_package(Strata REQUIRED)
add_executable(hello $source/examples/hello/hello.c)
target_link_libraries(hello PRIVATE Strata::strata)
CMAKE
(cd "$prefix/consumer" && cmake -S . -B b -DCMAKE_PREFIX_PATH="$prefix" > log 2>&1 && cmake --build b > log 2>&1) \
  || { cat "$prefix/consumer/log"; fail "find_package(Strata) consumer"; }
LD_LIBRARY_PATH=$lib "$prefix/bin/strata-run" -n 2 "$prefix/consumer/b/hello" | grep -q "rank 0 of 2" || fail "consumer did not run"
echo "find_package(Strata): ok"
echo "install tree ok"
