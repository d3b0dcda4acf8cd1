#!/usr/bin/env bash
# The main job end to end on the embedded example: install, create a scratch git + DVC project,
# reproduce, cut a version, change a param, cut another, and read the registry back.
#   bash demo.sh [DIR]      (DIR defaults to a new temporary directory)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$root/scripts/install.sh"
export PATH="$root/.venv/bin:$PATH" DVC_NO_ANALYTICS=1
project=${1:-$(mktemp -d)/churn-demo}

# A fresh machine may have no git identity; the demo then signs its commits and tags as itself.
if ! git config --get user.email >/dev/null; then
  export GIT_AUTHOR_NAME="modelgit demo" GIT_AUTHOR_EMAIL="demo@example.com"
  export GIT_COMMITTER_NAME="modelgit demo" GIT_COMMITTER_EMAIL="demo@example.com"
fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step modelgit init --example "$project"
cd "$project"
step dvc repro --quiet
step git add --all
step git commit --quiet -m "Train the first churn model"
step modelgit bump minor
step sed -i 's/C: 1.0/C: 0.3/' params.yaml
step dvc repro --quiet
step git commit --quiet -am "Regularise the churn model more (C 1.0 -> 0.3)"
step modelgit bump minor
step modelgit list
step modelgit show churn
step modelgit history churn
printf '\nThe demo project is at %s\n' "$project"
