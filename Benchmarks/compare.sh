#!/usr/bin/env bash
# Side-by-side timing of dossier against the pipelines people use today, on the corpora
# of ../shared/bench/make-corpus. Prints a table of medians and ratios (peer / ours: above
# 1.00 means dossier is faster). "open+sync" compares the same opening of ours with the
# peer pipeline followed by `sync`: our openings are written back to disk before they are
# renamed into place, the plain peer pipeline leaves its files in the page cache.
#
#   Benchmarks/compare.sh                 # typical and small-files
#   Benchmarks/compare.sh large           # any profiles of make-corpus
#   RUNS=10 WORK=/data/bench Benchmarks/compare.sh typical
#
# After the timed corpora it seals and opens one folder at the format's limit of 65,536
# files and folders (generated here, ~270 MB) for the memory table only.
#
# Timing: Benchmarks/interleave.py, every command once per round, in interleaved rounds.
# Needs: age, zstd, minisign, tar (installed when missing), python3.
#
# Cold rows ("seal cold", …): the same commands with the corpus and the dossiers not in the
# page cache (as for a case folder nobody read since the machine started): before each run
# the caches are dropped (/proc/sys/vm/drop_caches, needs root) and only the programs, their
# libraries, the keys and the ledger are read back in. In their own rounds, after the warm
# ones (dropping the caches between warm runs would make them cold too). COLD=0 skips them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
corpus_tool=${CORPUS_TOOL:-$root/../shared/bench/make-corpus}
work=${WORK:-/tmp/dossier-compare}
runs=${RUNS:-5}
cold=${COLD:-1}
profiles=("$@")
[ ${#profiles[@]} -gt 0 ] || profiles=(typical small-files)

"$root/scripts/setup"
# Built as we recommend installing it (README): release, Swift runtime linked statically
# (starts in ~10 ms instead of ~18 ms, which matters for verify on small dossiers).
(cd "$root" && swift build -c release --static-swift-stdlib --product dossier --scratch-path .build-static 2>&1 | tail -1) >&2
dossier="$(cd "$root" && swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/dossier"
# The CLI's crc32 (Sources/CDossierZipCRC) must be the one the dynamic linker finds: exported.
if ! nm -D --defined-only "$dossier" | grep -qw crc32; then
  echo "compare.sh: $dossier does not export crc32: libarchive's zip CRC-32s would run on zlib's (see Sources/CDossierZipCRC)" >&2
  exit 1
fi

mkdir -p "$work/keys"
cd "$work"
if [ ! -f keys/ours.sign ]; then
  "$dossier" keygen --name "Bench" keys/ours >/dev/null
  age-keygen -o keys/peer.age 2>/dev/null
  minisign -G -W -p keys/peer.pub -s keys/peer.key >/dev/null
fi
ours_recipient=$(cat keys/ours.recipient)
peer_recipient=$(age-keygen -y keys/peer.age)
echo "sealer $(tail -n 1 keys/ours.pub) Bench" > trust.txt

# Opened folders are moved aside between runs, not deleted: right after 20,000 files are
# deleted, ext4 skips their inodes as "recently deleted" (for 60–360 s) and creating files
# gets slower by an order of magnitude for every tool (seen: tar -x of small-files 0.5 →
# 9 s). Real openings go into a fresh folder; the aside copies are deleted at the end.
mkdir -p "$work/aside"
# Every run also starts with no dirty data in the page cache (sync in each prepare step, untimed):
# otherwise whichever tool runs later is throttled by the write-back of the earlier runs.
# Folders of up to 1,000 entries are deleted at once (the slowdown follows deleting thousands
# of files; keeping every opened copy of the 2 GB corpus aside needs ~30 GB, and the
# opening's free-space check then refuses to open).
retire() { echo "if [ -e '$work/$1' ]; then if [ \$(find '$work/$1' | head -n 1001 | wc -l) -le 1000 ]; then rm -rf '$work/$1'; else mv '$work/$1' \"\$(mktemp -d '$work/aside/XXXXXX')/\"; fi; fi; sync"; }
trap 'rm -rf "$work/aside"' EXIT
for old in peer-open ours-open; do [ ! -e "$work/$old" ] || mv "$work/$old" "$(mktemp -d "$work/aside/XXXXXX")/"; done

# Peak memory of a command, "RSS/private" in KiB (Benchmarks/peak-memory.py: the kernel's
# max RSS, as /usr/bin/time -f %M, and the largest anonymous memory seen); a failing
# command stops the script with its own error message.
peak_rss() {
  local figures
  figures=$(python3 "$root/Benchmarks/peak-memory.py" "$@") || exit 1
  echo "${figures/ //}"
}

# Cold runs: what every run reads back in after the caches are dropped — the programs and
# their libraries, the keys, the trust list and the ledgers (in use all day on a real
# machine), not the corpus or the dossiers.
if [ "$cold" != 0 ] && ! [ -w /proc/sys/vm/drop_caches ]; then
  echo "compare.sh: cannot drop the page cache (not root?): no cold rows (COLD=0 to skip them quietly)" >&2
  cold=0
fi
tools=("$dossier" "$(command -v age)" "$(command -v zstd)" "$(command -v tar)" "$(command -v minisign)" "$(command -v bash)")
warm_files=$(printf '%s\n' "${tools[@]}" $(ldd "${tools[@]}" 2>/dev/null | awk '$3 ~ /^\// {print $3} $1 ~ /^\// && $1 !~ /:$/ {print $1}') | sort -u | tr '\n' ' ')
drop_caches="sync; echo 3 > /proc/sys/vm/drop_caches; cat $warm_files '$work'/keys/* '$work'/trust.txt '$work'/open-ledger.sqlite* > /dev/null"

results=()
for profile in "${profiles[@]}"; do
  corpus="$work/corpus-$profile"
  [ -d "$corpus" ] || python3 "$corpus_tool" "$profile" "$corpus" >&2
  size=$(du -sb "$corpus" | cut -f1)
  # One sealed copy of each for the open and verify runs.
  rm -rf "$work/open-ledger.sqlite"* "$work/$profile.dossier" "$work/$profile.age" "$work/$profile.age.minisig"
  DOSSIER_LOG="$work/open-ledger.sqlite" "$dossier" seal "$corpus" -r "$ours_recipient" -s keys/ours.sign -o "$work/$profile.dossier" -q --id "bench-$profile"
  tar -cf - -C "$corpus" . | zstd -3 -T0 -q | age -r "$peer_recipient" > "$work/$profile.age"
  minisign -S -s keys/peer.key -m "$work/$profile.age" -x "$work/$profile.age.minisig" >/dev/null
  # Peak memory (max RSS) of one seal and one open, outside the timed rounds — before the timed
  # runs, whose opened folders wait in aside/ until the end and can fill the disk (a 2 GB
  # corpus: ~30 GB), which the opening's free-space check would refuse.
  rm -f "$work/ours-out.dossier" "$work/seal-ledger.sqlite"*; eval "$(retire ours-open)"
  seal_rss=$(DOSSIER_LOG="$work/seal-ledger.sqlite" peak_rss "$dossier" seal "$corpus" -r "$ours_recipient" -s keys/ours.sign -o "$work/ours-out.dossier" -q --id bench)
  open_rss=$(DOSSIER_LOG="$work/open-ledger.sqlite" peak_rss "$dossier" open "$work/$profile.dossier" -i keys/ours.age --as keys/ours.sign -o "$work/ours-open" --purpose bench --trust trust.txt -q)

  # Interleaved rounds (Benchmarks/interleave.py): every command once per round, the order
  # reversed every other round, so that the file system's drift during a run (below) falls
  # on every command alike; hyperfine would run all runs of one command before the next.
  python3 -c 'import json, sys; a = sys.argv[2:]; json.dump([{"name": a[i], "prepare": a[i + 1], "command": a[i + 2]} for i in range(0, len(a), 3)], open(sys.argv[1], "w"))' "$work/$profile.spec.json" \
    "seal: tar|zstd -3 -T0|age + minisign -S" \
      "rm -f '$work/peer-out.age' '$work/peer-out.age.minisig'; sync" \
      "tar -cf - -C '$corpus' . | zstd -3 -T0 -q | age -r '$peer_recipient' > '$work/peer-out.age' && minisign -S -s keys/peer.key -m '$work/peer-out.age' -x '$work/peer-out.age.minisig' >/dev/null" \
    "seal: dossier seal" \
      "rm -f '$work/ours-out.dossier' '$work/seal-ledger.sqlite'*; sync" \
      "DOSSIER_LOG='$work/seal-ledger.sqlite' '$dossier' seal '$corpus' -r '$ours_recipient' -s keys/ours.sign -o '$work/ours-out.dossier' -q --id bench" \
    "open: age -d|zstd -d|tar -x" \
      "$(retire peer-open) && mkdir -p '$work/peer-open'" \
      "age -d -i keys/peer.age '$work/$profile.age' | zstd -d -q | tar -xf - -C '$work/peer-open'" \
    "open-durable: age -d|zstd -d|tar -x && sync" \
      "$(retire peer-open) && mkdir -p '$work/peer-open'" \
      "age -d -i keys/peer.age '$work/$profile.age' | zstd -d -q | tar -xf - -C '$work/peer-open' && sync" \
    "open: dossier open" \
      "$(retire ours-open)" \
      "DOSSIER_LOG='$work/open-ledger.sqlite' '$dossier' open '$work/$profile.dossier' -i keys/ours.age --as keys/ours.sign -o '$work/ours-open' --purpose bench --trust trust.txt -q" \
    "verify: minisign -V" \
      "true" \
      "minisign -V -q -p keys/peer.pub -m '$work/$profile.age' -x '$work/$profile.age.minisig'" \
    "verify: dossier verify" \
      "true" \
      "'$dossier' verify '$work/$profile.dossier' --trust trust.txt -q"
  echo "compare.sh: $profile, $runs interleaved rounds" >&2
  python3 "$root/Benchmarks/interleave.py" "$work/$profile.spec.json" "$runs" "$work/$profile.json"
  if [ "$cold" != 0 ]; then
    python3 -c 'import json, sys; a = sys.argv[2:]; json.dump([{"name": a[i], "prepare": a[i + 1], "command": a[i + 2]} for i in range(0, len(a), 3)], open(sys.argv[1], "w"))' "$work/$profile-cold.spec.json" \
      "seal: tar|zstd -3 -T0|age + minisign -S" \
        "rm -f '$work/peer-out.age' '$work/peer-out.age.minisig'; $drop_caches" \
        "tar -cf - -C '$corpus' . | zstd -3 -T0 -q | age -r '$peer_recipient' > '$work/peer-out.age' && minisign -S -s keys/peer.key -m '$work/peer-out.age' -x '$work/peer-out.age.minisig' >/dev/null" \
      "seal: dossier seal" \
        "rm -f '$work/ours-out.dossier' '$work/seal-ledger.sqlite'*; $drop_caches" \
        "DOSSIER_LOG='$work/seal-ledger.sqlite' '$dossier' seal '$corpus' -r '$ours_recipient' -s keys/ours.sign -o '$work/ours-out.dossier' -q --id bench" \
      "open: age -d|zstd -d|tar -x" \
        "$(retire peer-open) && mkdir -p '$work/peer-open'; $drop_caches" \
        "age -d -i keys/peer.age '$work/$profile.age' | zstd -d -q | tar -xf - -C '$work/peer-open'" \
      "open: dossier open" \
        "$(retire ours-open); $drop_caches" \
        "DOSSIER_LOG='$work/open-ledger.sqlite' '$dossier' open '$work/$profile.dossier' -i keys/ours.age --as keys/ours.sign -o '$work/ours-open' --purpose bench --trust trust.txt -q" \
      "verify: minisign -V" \
        "$drop_caches" \
        "minisign -V -q -p keys/peer.pub -m '$work/$profile.age' -x '$work/$profile.age.minisig'" \
      "verify: dossier verify" \
        "$drop_caches" \
        "'$dossier' verify '$work/$profile.dossier' --trust trust.txt -q"
    echo "compare.sh: $profile, $runs interleaved rounds, page cache dropped before each run" >&2
    python3 "$root/Benchmarks/interleave.py" "$work/$profile-cold.spec.json" "$runs" "$work/$profile-cold.json"
  else
    rm -f "$work/$profile-cold.json"
  fi
  results+=("$profile:$size:$seal_rss:$open_rss")
done

# Memory at the format's limit of entries (FORMAT.md §7: 65,536 files and folders): per-entry
# state, not buffers, is what grows here. Not timed against a peer; one seal and one open.
entries="$work/corpus-max-entries"
if [ ! -d "$entries" ]; then
  python3 - "$entries" <<'PY'
import os, random, sys
random.seed(65536)
root = sys.argv[1]
# 64 sections x 16 folders (1,088 folders), 62 files per folder and 15 per section: 64,448 files.
for a in range(64):
    section = os.path.join(root, f"section-{a:02d}")
    for b in range(16):
        folder = os.path.join(section, f"folder-{b:02d}")
        os.makedirs(folder, exist_ok=True)
        for c in range(62):
            with open(os.path.join(folder, f"document-{c:03d}-note.txt"), "w") as f:
                f.write(f"note {a}/{b}/{c}: {random.randrange(10**9)}\n" * random.randint(1, 40))
    for c in range(15):
        with open(os.path.join(section, f"summary-{c:02d}.txt"), "w") as f:
            f.write(f"summary {a}/{c}\n" * random.randint(1, 40))
PY
fi
rm -f "$work/max-entries.dossier" "$work/max-ledger.sqlite"*; eval "$(retire ours-open)"
seal_rss=$(DOSSIER_LOG="$work/max-ledger.sqlite" peak_rss "$dossier" seal "$entries" -r "$ours_recipient" -s keys/ours.sign -o "$work/max-entries.dossier" -q --id bench-max)
open_rss=$(DOSSIER_LOG="$work/max-ledger.sqlite" peak_rss "$dossier" open "$work/max-entries.dossier" -i keys/ours.age --as keys/ours.sign -o "$work/ours-open" --purpose bench --trust trust.txt -q)
eval "$(retire ours-open)"
results+=("max-entries:$(du -sb "$entries" | cut -f1):$seal_rss:$open_rss:memory")

python3 - "$work" "${results[@]}" <<'PY'
import json, os, sys
work = sys.argv[1]
print()
print(f"{'corpus':<12} {'job':<11} {'peer (median s)':>16} {'dossier (median s)':>19} {'dossier MB/s':>13} {'ratio peer/ours':>16}")
memory = []
for item in sys.argv[2:]:
    profile, size, seal_rss, open_rss, *kind = item.split(":")
    size = int(size)
    memory.append((profile, size, [int(x) for x in seal_rss.split("/")], [int(x) for x in open_rss.split("/")]))
    if kind:  # memory only
        continue
    # "open+sync": the same opening of ours against the peer pipeline followed by sync, since
    # an opening of ours is written back to disk before it is renamed into place (durable).
    runs = [("", f"{work}/{profile}.json", [("seal", "seal", "seal"), ("open", "open", "open"), ("open+sync", "open-durable", "open"), ("verify", "verify", "verify")])]
    if os.path.exists(f"{work}/{profile}-cold.json"):
        runs.append((" cold", f"{work}/{profile}-cold.json", [("seal", "seal", "seal"), ("open", "open", "open"), ("verify", "verify", "verify")]))
    for suffix, path, jobs in runs:
        data = {r["command"]: r for r in json.load(open(path))["results"]}
        for job, peer_job, our_job in jobs:
            peer = next(v for k, v in data.items() if k.startswith(peer_job + ":") and "dossier" not in k)
            ours = next(v for k, v in data.items() if k.startswith(our_job + ": dossier"))
            print(f"{profile:<12} {job + suffix:<11} {peer['median']:>16.3f} {ours['median']:>19.3f} {size / ours['median'] / 1e6:>13.0f} {peer['median'] / ours['median']:>16.2f}")
print()
# RSS counts the program's and libraries' pages mapped from the page cache too (~24-30 MiB,
# varying with the cache's state); "private" is the memory the process allocated.
print(f"{'corpus':<12} {'content MB':>11} {'seal peak RSS MiB':>18} {'(private)':>10} {'open peak RSS MiB':>18} {'(private)':>10}")
for profile, size, seal, opening in memory:
    print(f"{profile:<12} {size / 1e6:>11.0f} {seal[0] / 1024:>18.1f} {seal[1] / 1024:>10.1f} {opening[0] / 1024:>18.1f} {opening[1] / 1024:>10.1f}")
PY
