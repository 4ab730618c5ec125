# Sourced by the study scripts. `start_study NAME WHAT` needs $bin (the autoprog-run the study
# runs) and sets $root to a new studies/runs/NAME-<date-time>, with a copy of scripts/ in it:
# the recipes run from the copy, as the binary may be a copy (AUTOPROG_RUN), so editing
# scripts/ or rebuilding during a long study changes nothing, and the copy stays beside the
# runs it made. The header line says what ran: the tree's commit, and the binary's build
# time and checksum, since a copied binary may come from another commit than the tree.
start_study() {
  root=studies/runs/$1-$(date +%Y%m%d-%H%M%S)
  mkdir -p "$root"
  cp -r scripts "$root/scripts"
  echo "study in $root: $2; tree $(git describe --always --dirty), binary $bin" \
    "built $(date -r "$bin" '+%Y-%m-%d %H:%M'), sha256 $(sha256sum "$bin" | cut -c1-12)" | tee "$root/header.txt" >&2
}
