#!/usr/bin/env python3
"""The peers of Kindred's matching on the same records, for bench/run.sh matching: the Python
`recordlinkage` package (blocking on the same keys, Jaro-Winkler comparisons, unsupervised ECM)
and Splink (DuckDB backend, the same blocking keys, the prior from the email and phone rules,
u from random pairs, m by EM per blocking rule). Prints, for each, the time from records to
decisions and the precision and recall of the pairs it links against the generator's truth.

    linkage_peers.py CUSTOMERS.csv DUPLICATES.csv [recordlinkage|splink]...
"""

import sys
import time

import pandas as pd

FIELDS = ["first_name", "last_name", "birth_date", "email", "phone", "postcode", "city", "address_line1"]


def load(customers_path, truth_path):
    frame = pd.read_csv(customers_path, dtype=str, keep_default_na=False)
    frame = frame[["external_id"] + FIELDS].replace("", None)
    for field in ["first_name", "last_name", "city", "email", "address_line1"]:
        frame[field] = frame[field].str.lower()
    frame = frame.set_index("external_id", drop=False)
    truth = pd.read_csv(truth_path, dtype=str)
    groups = {}
    for duplicate, original in zip(truth["duplicate_external_id"], truth["original_external_id"]):
        groups.setdefault(original, [original]).append(duplicate)
    expected = set()
    for members in groups.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                expected.add(tuple(sorted((a, b))))
    return frame, expected


def score(name, seconds, predicted, expected):
    right = len(predicted & expected)
    precision = right / max(len(predicted), 1)
    recall = right / max(len(expected), 1)
    print(f"{name}: {seconds:.1f} s, {len(predicted)} pairs linked; precision {precision:.4f}, recall {recall:.4f}")


def with_recordlinkage(frame, expected):
    import recordlinkage

    started = time.time()
    indexer = recordlinkage.Index()
    for key in (["last_name", "birth_date"], ["first_name", "birth_date"], ["birth_date", "city"], ["email"],
                ["phone"], ["last_name", "postcode"], ["address_line1", "postcode"], ["first_name", "last_name", "city"]):
        indexer.block(left_on=key)
    pairs = indexer.index(frame)
    compare = recordlinkage.Compare()
    compare.string("first_name", "first_name", method="jarowinkler", threshold=0.85, label="first_name")
    compare.string("last_name", "last_name", method="jarowinkler", threshold=0.85, label="last_name")
    compare.exact("birth_date", "birth_date", label="birth_date")
    compare.exact("email", "email", label="email")
    compare.exact("phone", "phone", label="phone")
    compare.exact("postcode", "postcode", label="postcode")
    compare.exact("city", "city", label="city")
    compare.string("address_line1", "address_line1", method="jarowinkler", threshold=0.85, label="address")
    features = compare.compute(pairs, frame)
    model = recordlinkage.ECMClassifier(binarize=0.5)
    links = model.fit_predict(features)
    seconds = time.time() - started
    predicted = {tuple(sorted(pair)) for pair in links}
    score("recordlinkage (ECM)", seconds, predicted, expected)


def with_splink(frame, expected):
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    started = time.time()
    blocking = [block_on("last_name", "birth_date"), block_on("first_name", "birth_date"),
                block_on("birth_date", "city"), block_on("email"), block_on("phone"), block_on("last_name", "postcode"),
                block_on("address_line1", "postcode"), block_on("first_name", "last_name", "city")]
    settings = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="external_id",
        blocking_rules_to_generate_predictions=blocking,
        comparisons=[
            cl.JaroWinklerAtThresholds("first_name", [0.92, 0.8]),
            cl.JaroWinklerAtThresholds("last_name", [0.92, 0.8]),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("email"),
            cl.ExactMatch("phone"),
            cl.ExactMatch("postcode"),
            cl.ExactMatch("city"),
            cl.JaroWinklerAtThresholds("address_line1", [0.92, 0.8]),
        ],
    )
    db_api = DuckDBAPI()
    try:  # Splink 5 takes a registered table; Splink 4 the data frame and the backend.
        linker = Linker(db_api.register(frame.reset_index(drop=True)), settings)
    except (AttributeError, TypeError):
        linker = Linker(frame.reset_index(drop=True), settings, db_api=db_api)
    # The prior as Splink's guide estimates it: from rules that near-certainly find matches
    # (a shared email or phone), with the share of matches they are thought to find.
    linker.training.estimate_probability_two_random_records_match(
        [block_on("email"), block_on("phone")], recall=0.7)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6)
    for rule in [block_on("last_name", "birth_date"), block_on("email"), block_on("first_name", "last_name", "city")]:
        linker.training.estimate_parameters_using_expectation_maximisation(rule)
    predictions = linker.inference.predict(threshold_match_probability=0.99).as_pandas_dataframe()
    seconds = time.time() - started
    predicted = {tuple(sorted((a, b))) for a, b in zip(predictions["external_id_l"], predictions["external_id_r"])}
    score("Splink (DuckDB)", seconds, predicted, expected)


def main():
    customers, truth, *which = sys.argv[1:]
    frame, expected = load(customers, truth)
    for name in which or ["recordlinkage", "splink"]:
        {"recordlinkage": with_recordlinkage, "splink": with_splink}[name](frame, expected)


if __name__ == "__main__":
    main()
