#!/usr/bin/env bash
# Installs what the tests use beyond the .NET SDK:
#  - Debian packages: clang-14 and clang-16 (kernel PTX checks), g++ (kernel emulation harness, C smoke test
#    linker), python3 (the ctypes example), cmake and pkg-config (a C project finding the published library by its
#    CMake package and its pkg-config file); needs root (or sudo) when one is missing.
#  - NVIDIA's NVRTC 12.4 (libnvrtc.so.12, a name the CUDA backend itself loads) and CUDA driver library (550) from
#    Debian trixie's non-free archive, unpacked (not installed) under out/nvidia-debian, so that on a machine
#    without a GPU the tests compile every kernel with the real NVRTC through our binding, and resolve every driver
#    export and see the driver's own "no device" answer. NVIDIA builds them for old glibc, so they load on bookworm
#    too. The system's apt sources are left alone: the package lists for non-free go to a temporary folder.
# Does nothing for what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

install_packages() {
  local missing=() packages=() tool
  for tool in clang-14 clang-16 g++ cc python3 cmake pkg-config; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  for tool in "${missing[@]}"; do
    case "$tool" in
      g++|cc) packages+=(g++ gcc) ;;
      *) packages+=("$tool") ;;
    esac
  done
  local sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  echo "installing ${packages[*]}"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${packages[@]}" >/dev/null
}

# A subshell, so that its EXIT trap removes the temporary apt folder however it ends. Every step checks its own
# status (errexit does not apply inside the caller's "||"), and the folder is put in place only once both libraries
# are there: a failed fetch leaves nothing half-unpacked behind.
fetch_nvidia_libraries() (
  target=out/nvidia-debian
  lib=usr/lib/x86_64-linux-gnu
  [ -e "$target/$lib/libnvrtc.so.12" ] && [ -e "$target/$lib/nvidia/current/libcuda.so.1" ] && exit 0
  [ "$(dpkg --print-architecture 2>/dev/null)" = amd64 ] || { echo "NVIDIA library checks: only on amd64 Debian; skipped" >&2; exit 0; }
  apt_dir="$(mktemp -d)" || exit 1
  trap 'rm -rf "$apt_dir" "$target.partial"' EXIT
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/debs" "$target.partial" || exit 1
  cat > "$apt_dir/non-free.sources" <<'SOURCES' || exit 1
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie
Components: non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
  apt_options=(-o "Dir::Etc::sourcelist=$apt_dir/non-free.sources" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "APT::Sandbox::User=root")
  echo "fetching NVRTC 12.4 and the CUDA driver library (Debian non-free) into $target"
  apt-get "${apt_options[@]}" update -qq || exit 1
  (cd "$apt_dir/debs" && apt-get "${apt_options[@]}" download -qq libnvrtc12 libnvrtc-builtins12.4 libcuda1) || exit 1
  for deb in "$apt_dir"/debs/*.deb; do dpkg -x "$deb" "$target.partial" || exit 1; done
  [ -e "$target.partial/$lib/libnvrtc.so.12" ] && [ -e "$target.partial/$lib/nvidia/current/libcuda.so.1" ] \
    || { echo "the NVIDIA packages did not hold libnvrtc.so.12 and libcuda.so.1" >&2; exit 1; }
  rm -rf "$target" && mv "$target.partial" "$target"
)

install_packages
fetch_nvidia_libraries || echo "could not fetch NVIDIA's libraries; the tests that use them will skip" >&2
