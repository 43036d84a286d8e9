#!/usr/bin/env bash
# Installs the Debian packages the tests use beyond the .NET SDK: clang-14 and clang-16 (kernel PTX checks),
# g++ (kernel emulation harness, C smoke test linker) and python3 (the ctypes example). Does nothing when all are
# present; needs root (or sudo) otherwise.
set -euo pipefail
missing=()
for tool in clang-14 clang-16 g++ cc python3; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
[ ${#missing[@]} -eq 0 ] && exit 0
packages=()
for tool in "${missing[@]}"; do
  case "$tool" in
    g++|cc) packages+=(g++ gcc) ;;
    *) packages+=("$tool") ;;
  esac
done
sudo_cmd=""
[ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
echo "installing ${packages[*]}"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${packages[@]}" >/dev/null
