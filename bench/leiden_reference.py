#!/usr/bin/env python3
"""Runs igraph's Leiden on a graph Kindred's benchmarks wrote (`kindred-community-bench --write DIR`
or `kindred-need-based-bench --write DIR`), for BENCHMARKS.md: `community_leiden` maximising
modularity (resolution 1) and the Constant Potts Model (at the resolution Kindred derived, from
`resolution.txt`), each with its detection time, community count and NMI against the planted
groups (nodes whose group is -1 are left out of the NMI). With --leidenalg, the `leidenalg`
package's modularity partition too (slow on large graphs).

    python3 -m venv bench-data/venv && bench-data/venv/bin/pip install igraph leidenalg
    bench-data/venv/bin/python bench/leiden_reference.py bench-data/planted [--runs 3] [--leidenalg]
"""

import argparse
import statistics
import time
from pathlib import Path

import igraph


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--leidenalg", action="store_true")
    args = parser.parse_args()
    folder = args.folder

    edges, weights = [], []
    for line in (folder / "edges.txt").read_text().splitlines():
        fields = line.split()
        edges.append((int(fields[0]), int(fields[1])))
        weights.append(float(fields[2]) if len(fields) > 2 else 1.0)
    truth = [int(line) for line in (folder / "groups.txt").read_text().splitlines()]
    resolution_file = folder / "resolution.txt"
    cpm_resolution = float(resolution_file.read_text()) if resolution_file.exists() else None
    graph = igraph.Graph(n=len(truth), edges=edges, directed=False)
    graph.es["weight"] = weights
    graph.simplify(combine_edges="sum")
    print(f"graph: {graph.vcount()} nodes, {len(edges)} edges ({graph.ecount()} after merging parallel ones)")
    scored = [node for node, group in enumerate(truth) if group >= 0]

    def report(name, detect):
        times, partition = [], None
        for _ in range(args.runs):
            started = time.perf_counter()
            partition = detect()
            times.append(time.perf_counter() - started)
        membership = list(partition.membership)
        modularity = graph.modularity(membership, weights="weight")
        nmi = igraph.compare_communities(
            [membership[node] for node in scored], [truth[node] for node in scored], method="nmi"
        )
        print(f"{name}: median {statistics.median(times):.3f} s (fastest {min(times):.3f} s), "
              f"{len(set(membership))} communities (singletons included), modularity {modularity:.5f}, "
              f"NMI {nmi:.4f}")

    report("igraph community_leiden modularity (resolution 1)", lambda: graph.community_leiden(
        objective_function="modularity", weights="weight", resolution=1.0, n_iterations=-1))
    if cpm_resolution is not None:
        report(f"igraph community_leiden CPM (resolution {cpm_resolution:.6f})", lambda: graph.community_leiden(
            objective_function="CPM", weights="weight", resolution=cpm_resolution, n_iterations=-1))
    if args.leidenalg:
        import leidenalg
        report("leidenalg ModularityVertexPartition", lambda: leidenalg.find_partition(
            graph, leidenalg.ModularityVertexPartition, weights="weight", n_iterations=-1, seed=1))
    if all(group >= 0 for group in truth):
        print(f"planted groups: modularity {graph.modularity(truth, weights='weight'):.5f}")


if __name__ == "__main__":
    main()
