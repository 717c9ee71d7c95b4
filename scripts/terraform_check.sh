#!/usr/bin/env bash
# Runs Terraform itself on terraform/ (the root stack and every module): fmt -check, then in each
# folder init (from an offline provider mirror when the machine has one), validate and
# `terraform test`. Without Terraform it says so loudly and succeeds, unless REQUIRE_TERRAFORM=1
# (CI sets it), which makes a missing Terraform a failure.
set -euo pipefail
cd "$(dirname "$0")/../terraform"

if ! command -v terraform >/dev/null 2>&1; then
  if [ "${REQUIRE_TERRAFORM:-0}" = 1 ]; then
    echo "terraform-check: terraform is not installed, and REQUIRE_TERRAFORM=1 requires it" >&2
    exit 1
  fi
  printf '\n%s\n%s\n%s\n\n' \
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" \
    "!! terraform is not installed: fmt, validate, terraform test and the real apply are SKIPPED" \
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!" >&2
  exit 0
fi

# A CLI config that is named but missing makes every command warn; an empty one is equivalent.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -e "$TF_CLI_CONFIG_FILE" ]; then
  export TF_CLI_CONFIG_FILE=/dev/null
fi
export TF_IN_AUTOMATION=1 TF_INPUT=0

init_args=(-backend=false -input=false -no-color)
mirror=${TF_PLUGIN_MIRROR-$(find / -maxdepth 3 -type d -name '*tf-plugins*' 2>/dev/null | head -n 1)}
if [ -n "$mirror" ]; then
  init_args+=("-plugin-dir=$mirror")
  source="the offline mirror $mirror"
else
  source="the registry"
fi
echo "terraform-check: $(terraform version | head -n 1), providers from $source"

terraform fmt -check -recursive -diff -no-color .

# One folder: init, validate, test, into a log that is shown only when a step fails.
check() {
  local dir=$1 log=$2 step
  for step in init validate test; do
    case $step in
      init) terraform -chdir="$dir" init "${init_args[@]}" ;;
      validate) terraform -chdir="$dir" validate -no-color ;;
      test) terraform -chdir="$dir" test -no-color ;;
    esac >>"$log" 2>&1 || { echo "FAILED: terraform $step in terraform/$dir" >>"$log"; return 1; }
  done
  touch "$log.passed"
}

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
dirs=(. modules/* examples/*)
for i in "${!dirs[@]}"; do
  # A few folders at a time: each command loads the provider's schema, which is CPU-bound.
  while (($(jobs -rp | wc -l) >= ${TF_CHECK_JOBS:-4})); do wait -n || true; done
  check "${dirs[$i]}" "$logs/$i" &
done
wait || true

failed=0
for i in "${!dirs[@]}"; do
  if [ -e "$logs/$i.passed" ]; then
    echo "  terraform/${dirs[$i]}: valid; $(grep -E '^(Success|Failure)!' "$logs/$i" | tail -n 1)"
  else
    cat "$logs/$i"
    failed=1
  fi
done
exit $failed
